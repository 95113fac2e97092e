"""What the pages and the evaluation do with a trained network: one module per model family.

Every function takes the network itself (rebuilt from a checkpoint by autoenc.trained)
and plain arrays: uint8 images (N, H, W, 3), traces in microvolts (N, 500).
"""

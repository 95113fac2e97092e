from autoenc.cli import main

raise SystemExit(main())

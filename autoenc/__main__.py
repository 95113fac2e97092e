"""python -m autoenc: the product's commands (autoenc.cli), and on top of them the reliability
harness, which drives those commands and the dashboard from outside."""
from autoenc.cli import main as cli_main
from autoenc.reliability.command import RELIABILITY


def main(argv: list[str] | None = None) -> int:
    return cli_main(argv, extra=[RELIABILITY])


if __name__ == "__main__":
    raise SystemExit(main())

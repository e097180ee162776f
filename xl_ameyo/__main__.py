"""`python -m xl_ameyo` is `xl-ameyo`."""

from xl_ameyo.cli import main

if __name__ == "__main__":
    main()

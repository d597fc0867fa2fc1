"""`python -m stopline`: the same command as the `stopline` script."""

from stopline.cli.main import main

main()

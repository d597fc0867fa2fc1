"""`python -m stopline`: the same command as the `stopline` script."""

from stopline.cli import main

main()

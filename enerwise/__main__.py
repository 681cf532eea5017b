from enerwise.cli import main

main()

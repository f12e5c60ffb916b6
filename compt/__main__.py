from compt.cli import main

main()

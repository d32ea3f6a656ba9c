from orderreport.cli import main

main()

# No main function.
x = 1

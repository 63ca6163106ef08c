import sys
def down(n):
    return down(n + 1) + 1
def main(request, response):
    sys.setrecursionlimit(10 ** 9)
    return str(down(0))

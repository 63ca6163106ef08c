import os
def main(request, response):
    with open(os.path.join(os.path.dirname(__file__), "written.txt"), "w") as f:
        f.write("x")
    return "wrote"

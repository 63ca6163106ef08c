import subprocess
def main(request, response):
    return subprocess.check_output(["id"])

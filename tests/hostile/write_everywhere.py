# change the installed checks, the system, the grader's files, or leave a file on the host
for path in ("/opt/geolab-site/checks/__init__.py", "/gradebook.csv", "/etc/passwd",
             "/run/geolab/../../gradebook.csv", "/tmp/geolab-host-canary"):
    try:
        with open(path, "a") as handle:
            handle.write("=1+1")
        print("wrote", path)
    except OSError as exc:
        print("refused", path, exc.strerror)

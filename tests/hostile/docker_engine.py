# reach a Docker engine: the socket, or a TCP engine on the host
import docker

for url in ("unix:///var/run/docker.sock", "tcp://172.17.0.1:2375", "tcp://host.docker.internal:2375"):
    try:
        print(url, docker.DockerClient(base_url=url, timeout=3).containers.list())
    except Exception as exc:
        print(url, "refused", type(exc).__name__)

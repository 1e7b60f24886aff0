"""Checks `compose -f docker-compose.cloudflare.yml config` output (YAML file, argv[1]):
the server publishes no port, cloudflared runs the tunnel with TUNNEL_TOKEN (argv[2])
after the server is healthy and restarts on failure."""
import sys

import yaml  # python3-yaml, a dependency of docker-compose

config_file, token = sys.argv[1], sys.argv[2]
with open(config_file, encoding="utf-8") as f:
    services = yaml.safe_load(f)["services"]
problems = []
server, tunnel = services.get("server", {}), services.get("cloudflared", {})
if server.get("ports"):
    problems.append(f"the server publishes ports {server['ports']}")
environment = tunnel.get("environment", {})
if isinstance(environment, list):
    environment = dict(item.split("=", 1) for item in environment)
if environment.get("TUNNEL_TOKEN") != token:
    problems.append(f"cloudflared's TUNNEL_TOKEN is {environment.get('TUNNEL_TOKEN')!r}, not the one from .env")
command = tunnel.get("command")
command = command.split() if isinstance(command, str) else command
if command != ["tunnel", "--no-autoupdate", "run"]:
    problems.append(f"cloudflared's command is {command!r}")
if tunnel.get("depends_on", {}).get("server", {}).get("condition") != "service_healthy":
    problems.append("cloudflared does not wait for the server to be healthy")
if tunnel.get("restart") != "on-failure":
    problems.append(f"cloudflared restart policy is {tunnel.get('restart')!r}")
if not tunnel.get("image", "").startswith("cloudflare/cloudflared"):
    problems.append(f"cloudflared image is {tunnel.get('image')!r}")
for problem in problems:
    print(f"docker-compose.cloudflare.yml: {problem}", file=sys.stderr)
sys.exit(1 if problems else 0)

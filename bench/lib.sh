# shellcheck shell=bash
# lib.sh - what the capture benches share: . "$(dirname "$0")/lib.sh"

# bench_nginx DIR PORT - nginx (one worker, no access log) answering "ok" on
# 127.0.0.1:PORT, its configuration, pid file and temporary files in
# DIR/nginx. Prints the master's pid: kill it when done.
bench_nginx() {
	local d=$1/nginx
	mkdir -p "$d"
	cat >"$d/nginx.conf" <<NGX
worker_processes 1;
pid $d/pid;
error_log $d/error.log;
events { worker_connections 1024; }
http {
	access_log off;
	client_body_temp_path $d; proxy_temp_path $d;
	fastcgi_temp_path $d; uwsgi_temp_path $d; scgi_temp_path $d;
	server { listen 127.0.0.1:$2; location / { return 200 "ok\n"; } }
}
NGX
	nginx -c "$d/nginx.conf" && cat "$d/pid"
}

# bench_wait_running SPOOL SOURCE [TRIES] - wait until the manifest of the
# spool of a `ktcap record` says SOURCE is running: a try every 0.1 s, TRIES
# (200) at most. Returns 1 when it never was.
bench_wait_running() {
	local _
	for _ in $(seq "${3:-200}"); do
		[ "$(jq -r ".sources.$2.status" "$1/manifest.json" 2>/dev/null)" = running ] && return 0
		sleep 0.1
	done
	return 1
}

# shellcheck shell=bash
# scenario-boutique.sh - `lab.sh up --scenario boutique`: the front of Online
# Boutique (corpus/demo/online-boutique) on the lab node, with the troubles
# a support engineer meets. Sourced by lab.sh, it replaces the default pods,
# services and traffic; everything else (netns, cgroups, kube-proxy rules,
# restart, recreate, down) is the lab's own.
#
#   loadgenerator --> frontend (Service :80 -> pod :8080)
#   frontend --> productcatalogservice (2 pods) --> catalog-db (postgres)
#            --> currencyservice (HTTP/1.1 keep-alive)
#            --> cartservice --> redis-cart
#            --> api.currencyfeed.example (external, by DNS)
#            --> recommendationservice   refused: the Service has no endpoints
#            --> paymentservice          times out: a NetworkPolicy lets only
#                                        checkoutservice in (DROP)
#            DNS adservice.boutique.svc.cluster.local: NXDOMAIN (not deployed)
#
# Servers are Debian's: nginx answering its pod's name, redis-server,
# postgresql (its data dir in the lab's state dir, trust auth on the lab's
# addresses only), dnsmasq; clients are ktlab_client and psql.

PODS="dns frontend catalog-a catalog-b currency cart redis-cart catalog-db payment loadgenerator"
NS=boutique
FRONTEND_VIP=198.19.0.20 CATALOG_VIP=198.19.0.21 CURRENCY_VIP=198.19.0.22 CART_VIP=198.19.0.23
REDIS_CART_VIP=198.19.0.24 DB_VIP=198.19.0.25 PAYMENT_VIP=198.19.0.26 RECO_VIP=198.19.0.27
EXT_NAME=api.currencyfeed.example
SCENARIO_NEEDS="jq:jq psql:postgresql-client runuser:util-linux"
# Debian keeps the server's programs off PATH, under the major version.
PG_BIN=$(find /usr/lib/postgresql -mindepth 2 -maxdepth 2 -name bin 2>/dev/null | sort -V | tail -n1)

pod_ns() { case $1 in dns) echo kube-system ;; *) echo $NS ;; esac; }
pod_kname_base() {
	case $1 in
	dns) echo coredns-5d78c9869d-ktlab ;;
	frontend) echo frontend-7d8f9c6b5-x2k4p ;;
	catalog-a) echo productcatalogservice-5b9d7c8f6-h7m2q ;;
	catalog-b) echo productcatalogservice-5b9d7c8f6-p9r4t ;;
	currency) echo currencyservice-6c8b5d9f7-k3n8w ;;
	cart) echo cartservice-7f9c8d6b4-m5q2z ;;
	redis-cart) echo redis-cart-6d5b8c7f9-t4v6x ;;
	catalog-db) echo catalog-db-0 ;;
	payment) echo paymentservice-8c7d9b5f6-r2w8y ;;
	loadgenerator) echo loadgenerator-5c6d7f8b9-n6j3k ;;
	esac
}
pod_cname() {	# the container names of the demo's manifests
	case $1 in
	dns) echo coredns ;; redis-cart) echo redis ;; catalog-db) echo postgres ;;
	loadgenerator) echo main ;; *) echo server ;;
	esac
}
pod_workload() {
	local n
	case $1 in
	dns) echo "Deployment coredns ReplicaSet coredns-5d78c9869d kube-dns" ;;
	catalog-db) echo "StatefulSet catalog-db StatefulSet catalog-db catalog-db" ;;
	*)
		n=$(pod_kname_base "$1")
		n=${n%-*}
		echo "Deployment ${n%-*} ReplicaSet $n ${n%-*}" ;;
	esac
}
pod_qos() { case $1 in dns) echo guaranteed ;; loadgenerator) echo besteffort ;; *) echo burstable ;; esac; }

kp_services() {
	kp_service kube-system/kube-dns:dns udp $DNS_VIP 53 dns
	kp_service kube-system/kube-dns:dns-tcp tcp $DNS_VIP 53 dns
	kp_service $NS/frontend:http tcp $FRONTEND_VIP 80:8080 frontend
	kp_service $NS/productcatalogservice:grpc tcp $CATALOG_VIP 3550 catalog-a catalog-b
	kp_service $NS/currencyservice:grpc tcp $CURRENCY_VIP 7000 currency
	kp_service $NS/cartservice:grpc tcp $CART_VIP 7070 cart
	kp_service $NS/redis-cart:tcp-redis tcp $REDIS_CART_VIP 6379 redis-cart
	kp_service $NS/catalog-db:postgres tcp $DB_VIP 5432 catalog-db
	kp_service $NS/paymentservice:grpc tcp $PAYMENT_VIP 50051 payment
	kp_service $NS/recommendationservice:grpc tcp $RECO_VIP 8080
	# NetworkPolicy paymentservice: only checkoutservice may connect.
	nsx "$NODE" iptables -w -t filter -I FORWARD -d "$(pod_ip payment)/32" -p tcp --dport 50051 \
		-m comment --comment "ktlab: policy paymentservice drops all but checkoutservice" -j DROP
}

svc_json() {	# name vip port target backends...
	local n=$1 vip=$2 port=$3 tp=$4 b="" p; shift 4
	for p; do b="$b${b:+, }\"$p\""; done
	printf '  {"namespace": "%s", "name": "%s", "selector": {"app": "%s"}, "cluster_ip": "%s", "ports": [{"proto": "tcp", "port": %s, "target_port": %s}], "backends": [%s]},\n' \
		$NS "$n" "$n" "$vip" "$port" "$tp" "$b"
}
lab_json_services() {
	svc_json frontend $FRONTEND_VIP 80 8080 frontend
	svc_json productcatalogservice $CATALOG_VIP 3550 3550 catalog-a catalog-b
	svc_json currencyservice $CURRENCY_VIP 7000 7000 currency
	svc_json cartservice $CART_VIP 7070 7070 cart
	svc_json redis-cart $REDIS_CART_VIP 6379 6379 redis-cart
	svc_json catalog-db $DB_VIP 5432 5432 catalog-db
	svc_json paymentservice $PAYMENT_VIP 50051 50051 payment
	svc_json recommendationservice $RECO_VIP 8080 8080
	printf '  {"namespace": "kube-system", "name": "kube-dns", "selector": {"app": "kube-dns"}, "cluster_ip": "%s", "ports": [{"proto": "udp", "port": 53}, {"proto": "tcp", "port": 53}], "backends": ["dns"]}\n ],\n' $DNS_VIP
	printf ' "dns": {"server": "%s", "names": {' $DNS_VIP
	dns_records | sed 's/^\(.*\),\(.*\)$/"\1": "\2"/' | paste -sd, | sed 's/,/, /g' | tr -d '\n'
	printf '}},\n'
}
dns_records() {	# NAME,IP per line
	local s
	echo "kube-dns.kube-system.svc.cluster.local,$DNS_VIP"
	for s in frontend,$FRONTEND_VIP productcatalogservice,$CATALOG_VIP currencyservice,$CURRENCY_VIP \
		 cartservice,$CART_VIP redis-cart,$REDIS_CART_VIP catalog-db,$DB_VIP \
		 paymentservice,$PAYMENT_VIP recommendationservice,$RECO_VIP; do
		echo "${s%,*}.$NS.svc.cluster.local,${s#*,}"
	done
	echo "$EXT_NAME,$EXT_IP"
}

# Objects the pods do not imply, for lab_k8s_scenario.py: the demo's
# NetworkPolicy for paymentservice, and recommendationservice scaled to
# zero (why its Service has no endpoints).
lab_json_extra() {
	cat <<-EOF2
	 "objects": [
	  {"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
	   "metadata": {"name": "paymentservice", "namespace": "$NS", "uid": "uid-netpol-paymentservice", "creationTimestamp": "2026-01-01T00:00:00Z"},
	   "spec": {"podSelector": {"matchLabels": {"app": "paymentservice"}}, "policyTypes": ["Ingress", "Egress"],
	            "ingress": [{"from": [{"podSelector": {"matchLabels": {"app": "checkoutservice"}}}],
	                         "ports": [{"port": 50051, "protocol": "TCP"}]}],
	            "egress": [{}]}},
	  {"apiVersion": "apps/v1", "kind": "Deployment",
	   "metadata": {"name": "recommendationservice", "namespace": "$NS", "uid": "uid-deployment-recommendationservice", "creationTimestamp": "2026-01-01T00:00:00Z", "labels": {"app": "recommendationservice"}},
	   "spec": {"replicas": 0, "selector": {"matchLabels": {"app": "recommendationservice"}},
	            "template": {"metadata": {"labels": {"app": "recommendationservice"}},
	                         "spec": {"containers": [{"name": "server", "image": "recommendationservice", "ports": [{"containerPort": 8080}]}]}}},
	   "status": {"observedGeneration": 2}}
	 ],
	EOF2
}

prepare_pods() {
	local p d
	write_nginx_conf ext
	for p in frontend:8080 catalog-a:3550 catalog-b:3550 currency:7000 cart:7070 payment:50051; do
		write_nginx_conf "${p%:*}" "${p#*:}"
	done
	mkdir -p "$STATE/redis-cart"
	d=$STATE/catalog-db
	[ -x "$PG_BIN/initdb" ] || {
		echo "lab: installing postgresql" >&2
		DEBIAN_FRONTEND=noninteractive apt-get install -y -q postgresql >&2 || die "cannot install postgresql"
		PG_BIN=$(find /usr/lib/postgresql -mindepth 2 -maxdepth 2 -name bin | sort -V | tail -n1)
	}
	mkdir -p "$d"
	chown postgres: "$d"
	runuser -u postgres -- "$PG_BIN/initdb" -D "$d/data" -U postgres -A trust -E UTF8 --no-sync >"$d/initdb.log" 2>&1 ||
		die "initdb failed (see $d/initdb.log)"
	# only the lab's own addresses, trusted: nothing else can reach it
	printf 'local all all trust\nhost all all 198.18.0.0/15 trust\n' > "$d/data/pg_hba.conf"
}

start_pod() {
	: > "$STATE/$1.pids"
	case $1 in
	dns) mapfile -t r < <(dns_records); start_dns "${r[@]}" ;;
	redis-cart)
		start_in_pod redis-cart redis-server --port 6379 --bind 0.0.0.0 --protected-mode no \
			--save "" --appendonly no --daemonize no --dir "$STATE/redis-cart" \
			--logfile "$STATE/redis-cart/redis.log" ;;
	catalog-db)
		start_in_pod catalog-db runuser -u postgres -- "$PG_BIN/postgres" -D "$STATE/catalog-db/data" \
			-c listen_addresses='*' -p 5432 -k "$STATE/catalog-db" -c fsync=off \
			-c shared_buffers=16MB -c max_connections=20 ;;
	loadgenerator) ;;
	*) start_in_pod "$1" nginx -c "$STATE/$1/nginx.conf" ;;
	esac
}

wait_pod() {
	case $1 in
	dns) wait_listen dns udp 53 && wait_listen dns tcp 53 ;;
	redis-cart) wait_listen redis-cart tcp 6379 ;;
	catalog-db)
		wait_listen catalog-db tcp 5432 &&
			runuser -u postgres -- psql -X -q -h "$STATE/catalog-db" -U postgres -c \
			"create table if not exists products (id text primary key, name text);
			 insert into products values ('OLJCESPC7Z', 'Sunglasses'), ('66VCHSJNUP', 'Tank Top')
			 on conflict do nothing" >/dev/null ;;
	loadgenerator) ;;
	frontend) wait_listen frontend tcp 8080 ;;
	catalog-*) wait_listen "$1" tcp 3550 ;;
	currency) wait_listen currency tcp 7000 ;;
	cart) wait_listen cart tcp 7070 ;;
	payment) wait_listen payment tcp 50051 ;;
	esac
}

env_vips() {
	echo "KTLAB_DNS_VIP=$DNS_VIP KTLAB_FRONTEND_VIP=$FRONTEND_VIP KTLAB_CATALOG_VIP=$CATALOG_VIP"
	echo "KTLAB_CURRENCY_VIP=$CURRENCY_VIP KTLAB_CART_VIP=$CART_VIP KTLAB_REDIS_CART_VIP=$REDIS_CART_VIP"
	echo "KTLAB_DB_VIP=$DB_VIP KTLAB_PAYMENT_VIP=$PAYMENT_VIP KTLAB_RECO_VIP=$RECO_VIP"
}

# One round of the application's traffic; OUT gets the ground truth of
# every driver: {"<pod>": {truth.json of ktlab_client}, ...}. Sizes:
# KTLAB_LOAD (20 requests from the load generator), KTLAB_CATALOG (10).
cmd_traffic() {
	local out=${1:-$STATE/truth.json} t=$STATE/traffic.$$ lg rc=0 i
	[ -f "$STATE/lab.json" ] || die "lab '$NAME' is not up"
	mkdir -p "$t"
	cmd_exec loadgenerator "$(client_bin)" run --out "$t/loadgenerator.json" \
		--dns $DNS_VIP frontend.$NS.svc.cluster.local \
		--cluster "${KTLAB_LOAD:-20}" $FRONTEND_VIP:80 &
	lg=$!
	cmd_exec frontend "$(client_bin)" run --out "$t/frontend.json" \
		--dns $DNS_VIP productcatalogservice.$NS.svc.cluster.local \
		--dns $DNS_VIP currencyservice.$NS.svc.cluster.local \
		--dns $DNS_VIP cartservice.$NS.svc.cluster.local \
		--dns $DNS_VIP adservice.$NS.svc.cluster.local \
		--dns $DNS_VIP $EXT_NAME \
		--cluster "${KTLAB_CATALOG:-10}" $CATALOG_VIP:3550 \
		--keepalive 1 $CURRENCY_VIP:7000 \
		--cluster 5 $CART_VIP:7070 \
		--external 2 "$EXT_IP:80" \
		--refused $RECO_VIP:8080 \
		--timeout $PAYMENT_VIP:50051 || rc=1
	cmd_exec cart "$(client_bin)" run --out "$t/cart.json" --long 1 $REDIS_CART_VIP:6379 || rc=1
	for i in a b; do
		cmd_exec catalog-$i env PGCONNECT_TIMEOUT=5 psql -X -q -A -t -h $DB_VIP -U postgres \
			-c "select count(*) from products" >/dev/null || rc=1
	done
	wait "$lg" || rc=1
	[ $rc = 0 ] || die "traffic driver failed"
	jq -n '[inputs | {(input_filename | split("/")[-1] | rtrimstr(".json")): .}] | add' "$t"/*.json >"$out" ||
		die "cannot merge the ground truth"
	rm -rf "$t"
	echo "$out"
}

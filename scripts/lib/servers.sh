# Test servers, sourced by scripts/test (and bench/run): installed from
# Debian's packages, started on 127.0.0.1 on free ports in a temporary
# directory, and stopped by pid when the calling script exits.

# ensure_packages, ensure_openssl_dev.
# shellcheck source=packages.sh
source "$(dirname "${BASH_SOURCE[0]}")/packages.sh"

servers_dir=$(mktemp -d "${TMPDIR:-/tmp}/ferrolock-servers.XXXXXX")
server_pids=()

stop_servers() {
    # start_redis runs in $(...), a subshell, so its pids live in pidfiles
    # under $servers_dir rather than in server_pids.
    local pid pidfile pids=("${server_pids[@]}")
    for pidfile in "$servers_dir"/*/pid; do
        [ -f "$pidfile" ] && pids+=("$(cat "$pidfile")")
    done
    for pid in "${pids[@]}"; do
        kill "$pid" 2>/dev/null || true
    done
    for pid in "${pids[@]}"; do
        for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
        kill -9 "$pid" 2>/dev/null || true
    done
    rm -rf "$servers_dir"
}

# A free port P whose cluster bus port P+10000 is free too.
free_port() {
    python3 - <<'PY'
import random, socket
for _ in range(200):
    p = random.randint(20000, 29999)
    try:
        for q in (p, p + 10000):
            s = socket.socket(); s.bind(("127.0.0.1", q)); s.close()
        print(p); break
    except OSError:
        pass
PY
}

# The redis-cli command that reaches a server of start_redis ($1: --tls or
# nothing), as the array `cli`.
redis_cli_for() {
    cli=(redis-cli)
    if [ "${1-}" = --tls ]; then cli+=(--tls --cacert "$servers_dir/tls/ca.pem"); fi
}

# start_redis [--tls] [redis-server options...]: prints the port once it
# answers. --tls: TLS only, with the certificates made by make_test_certs.
start_redis() {
    local port dir tls="$servers_dir/tls" listen cli
    port=$(free_port)
    listen=(--port "$port")
    if [ "${1-}" = --tls ]; then
        listen=(--port 0 --tls-port "$port" --tls-cert-file "$tls/server.pem" --tls-key-file "$tls/server.key"
            --tls-ca-cert-file "$tls/ca.pem" --tls-auth-clients optional)
    fi
    redis_cli_for "${1-}"
    [ "${1-}" != --tls ] || shift
    dir="$servers_dir/redis-$port"
    mkdir -p "$dir"
    redis-server "${listen[@]}" --bind 127.0.0.1 --dir "$dir" --save '' --appendonly no \
        --daemonize yes --pidfile "$dir/pid" --logfile "$dir/log" "$@" >/dev/null
    for _ in $(seq 100); do
        "${cli[@]}" -p "$port" ping >/dev/null 2>&1 && break
        sleep 0.05
    done
    server_pids+=("$(cat "$dir/pid")")
    echo "$port"
}

# start_cluster [--tls]: three masters joined into one Redis Cluster; prints
# their ports once the cluster is ok.
start_cluster() {
    local mode=() extra=() ports=() port cli
    if [ "${1-}" = --tls ]; then mode=(--tls); extra=(--tls-cluster yes); fi
    redis_cli_for "${1-}"
    for _ in 1 2 3; do
        ports+=("$(start_redis "${mode[@]}" "${extra[@]}" --cluster-enabled yes --cluster-config-file nodes.conf)")
    done
    "${cli[@]}" --cluster create "${ports[@]/#/127.0.0.1:}" --cluster-replicas 0 --cluster-yes \
        >"$servers_dir/cluster-create-${ports[0]}.log" 2>&1
    for port in "${ports[@]}"; do
        for _ in $(seq 200); do
            "${cli[@]}" -p "$port" cluster info 2>/dev/null | grep -q 'cluster_state:ok' && break
            sleep 0.05
        done
    done
    echo "${ports[*]}"
}

# make_test_certs: a throwaway CA, a server certificate for 127.0.0.1 and
# localhost, a client certificate, and a second CA that signed neither.
make_test_certs() {
    ensure_packages openssl openssl
    local tls="$servers_dir/tls" name
    mkdir -p "$tls"
    (
        cd "$tls"
        for name in ca other-ca; do
            openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=ferrolock test $name" \
                -keyout "$name.key" -out "$name.pem" 2>/dev/null
        done
        printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\n' >server.ext
        printf 'extendedKeyUsage=clientAuth\n' >client.ext
        for name in server client; do
            openssl req -newkey rsa:2048 -nodes -subj "/CN=ferrolock test $name" \
                -keyout "$name.key" -out "$name.csr" 2>/dev/null
            openssl x509 -req -in "$name.csr" -CA ca.pem -CAkey ca.key -CAcreateserial -days 2 \
                -extfile "$name.ext" -out "$name.pem" 2>/dev/null
        done
    )
}

# start_redis_tls_topologies: one server and a 3-master cluster over TLS;
# exports their rediss:// URLs (with ca=) and the certificates' directory.
start_redis_tls_topologies() {
    make_test_certs
    local tls="$servers_dir/tls" single c1 c2 c3
    single=$(start_redis --tls)
    read -r c1 c2 c3 <<<"$(start_cluster --tls)"
    export FERROLOCK_TEST_TLS_DIR="$tls"
    export FERROLOCK_TEST_REDIS_TLS_URL="rediss://127.0.0.1:$single?ca=$tls/ca.pem"
    export FERROLOCK_TEST_REDIS_TLS_CLUSTER_URL="rediss+cluster://127.0.0.1:$c1,127.0.0.1:$c2,127.0.0.1:$c3?ca=$tls/ca.pem"
    echo "redis over TLS: $FERROLOCK_TEST_REDIS_TLS_URL; cluster: $FERROLOCK_TEST_REDIS_TLS_CLUSTER_URL"
}

# start_redis_topologies: one server, a quorum of three, a 3-master cluster;
# exports the URLs the test suites read.
start_redis_topologies() {
    ensure_packages redis-server redis-server redis-tools
    local single q1 q2 q3 c1 c2 c3
    single=$(start_redis)
    q1=$(start_redis); q2=$(start_redis); q3=$(start_redis)
    read -r c1 c2 c3 <<<"$(start_cluster)"
    export FERROLOCK_TEST_REDIS_URL="redis://127.0.0.1:$single"
    export FERROLOCK_TEST_REDIS_QUORUM_URL="redis://127.0.0.1:$q1,127.0.0.1:$q2,127.0.0.1:$q3"
    export FERROLOCK_TEST_REDIS_CLUSTER_URL="redis+cluster://127.0.0.1:$c1,127.0.0.1:$c2,127.0.0.1:$c3"
    echo "redis: $FERROLOCK_TEST_REDIS_URL; quorum: $FERROLOCK_TEST_REDIS_QUORUM_URL; cluster: $FERROLOCK_TEST_REDIS_CLUSTER_URL"
}

# start_postgres: a PostgreSQL 15 server from Debian's packages: initdb in a
# folder under $servers_dir, 127.0.0.1 only on a free port, its Unix socket
# in that folder, password (SCRAM) authentication for the superuser
# `ferrolock`, so that a wrong password is refused for real. Prints its port
# once it answers. PostgreSQL refuses to run as root: as root it runs as
# the `postgres` user the package made.
postgres_password=ferrolock-test-secret
start_postgres() {
    local bin=/usr/lib/postgresql/15/bin port dir as=()
    ensure_packages "$bin/initdb" postgresql-15
    port=$(free_port)
    dir="$servers_dir/postgres-$port"
    mkdir -p "$dir"
    if [ "$(id -u)" -eq 0 ]; then
        chmod 711 "$servers_dir"
        chown postgres "$dir"
        as=(runuser -u postgres --)
    fi
    printf '%s\n' "$postgres_password" >"$dir/pwfile"
    chmod 644 "$dir/pwfile"
    "${as[@]}" "$bin/initdb" -D "$dir/data" -U ferrolock --pwfile="$dir/pwfile" --auth=scram-sha-256 \
        -E UTF8 --no-sync >"$dir/initdb.log" 2>&1
    "${as[@]}" "$bin/pg_ctl" -D "$dir/data" -l "$dir/log" -w -t 30 start -o \
        "-c listen_addresses=127.0.0.1 -p $port -k $dir -c max_connections=400 -c fsync=off -c synchronous_commit=off" \
        >/dev/null
    head -1 "$dir/data/postmaster.pid" >"$dir/pid"
    server_pids+=("$(cat "$dir/pid")")
    echo "$port"
}

# start_postgres_modes: one PostgreSQL server; exports the URLs of the
# lease and advisory fixtures (the same server, the same database).
start_postgres_modes() {
    local port
    port=$(start_postgres)
    export FERROLOCK_TEST_POSTGRES_URL="postgres://ferrolock:$postgres_password@127.0.0.1:$port/postgres"
    export FERROLOCK_TEST_POSTGRES_ADVISORY_URL="$FERROLOCK_TEST_POSTGRES_URL?mode=advisory"
    echo "postgres: $FERROLOCK_TEST_POSTGRES_URL; advisory: $FERROLOCK_TEST_POSTGRES_ADVISORY_URL"
}

# start_gocaves: Couchbase's mock cluster (scripts/lib/gocaves.sh builds it
# once from the Go module proxy and caches it), its control socket on a free
# port of 127.0.0.1, one cluster made through it (two nodes, bucket
# `default`, user Administrator/password). Exports the URLs of the getl and
# lease fixtures, and FERROLOCK_TEST_GOCAVES_CONTROL (host:port, cluster id
# `ferrolock`), where a test moves the mock's clock (`timetravel`). gocaves
# binds its data ports on every interface (it has no option to bind one);
# the tests only use 127.0.0.1. Its log (every KV packet) stays in its folder.
start_gocaves() {
    local bin port dir connstr
    bin=$("$(dirname "${BASH_SOURCE[0]}")/gocaves.sh")
    port=$(free_port)
    dir="$servers_dir/gocaves-$port"
    mkdir -p "$dir"
    (cd "$dir" && exec "$bin" --listen-port "$port" >"$dir/out.log" 2>"$dir/log") &
    echo $! >"$dir/pid"
    server_pids+=("$!")
    for _ in $(seq 300); do
        grep -q "CAVES listen server started" "$dir/log" 2>/dev/null && break
        sleep 0.1
    done
    connstr=$(python3 - "$port" <<'PY'
import json, socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=30)
s.sendall(json.dumps({"type": "createcluster", "id": "ferrolock"}).encode() + b"\0")
buf = b""
while not buf.endswith(b"\0"):
    chunk = s.recv(65536)
    if not chunk:
        sys.exit("gocaves closed its control socket")
    buf += chunk
print(json.loads(buf[:-1])["connstr"])
PY
    ) || { echo "gocaves did not make a cluster (log: $dir/log)" >&2; return 1; }
    export FERROLOCK_TEST_GOCAVES_CONTROL="127.0.0.1:$port"
    # connect_timeout=20: under a loaded CI machine a debug build's connect
    # (two nodes, SCRAM-SHA512 each) beside many others once took over the
    # default 10 s.
    export FERROLOCK_TEST_COUCHBASE_URL="couchbase://Administrator:password@${connstr#couchbase://}/default?connect_timeout=20"
    export FERROLOCK_TEST_COUCHBASE_LEASE_URL="$FERROLOCK_TEST_COUCHBASE_URL&mode=lease"
    echo "couchbase (gocaves): $FERROLOCK_TEST_COUCHBASE_URL; lease: $FERROLOCK_TEST_COUCHBASE_LEASE_URL"
}

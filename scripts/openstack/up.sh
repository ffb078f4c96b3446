#!/bin/bash
# Bring up a small, real OpenStack (Debian bookworm packages, "Zed" era) on
# 127.0.0.1 only, for integration tests:
#   keystone (uwsgi, sqlite, fernet)          :5000
#   glance-api (sqlite, file store)           :9292
#   cinder api/scheduler/volume/backup        :8776  (NFS driver on a bind
#          mount pretending to be an NFS share; posix backup driver)
#   placement (uwsgi)                         :8778
#   postgresql for cinder, placement and nova (unix socket in run/pg only)
#   nova api/conductor/scheduler/compute      :8774  (fake virt driver,
#          + a read-only Neutron stub on :9696 so server show/list work)
#   swift proxy/account/container/object      :8080  (keystone auth)
#          + S3 API (s3api/s3token) on :8080, credentials in $OSBOX/s3.env
#   rabbitmq                                  :5672
#
# Usage: up.sh [--install] [--fresh]
#   --install  apt-get install the needed packages first (idempotent)
#   --fresh    wipe data/ log/ (runs down.sh first)
# Env: OSBOX (default /tmp/osbox), OSBOX_SERVICES (default
#      "keystone glance cinder nova swift"; keystone+rabbit always start
#      when cinder/nova are wanted), OSBOX_PASSWORD (default secret)
# Writes $OSBOX/openrc (admin credentials) and $OSBOX/s3.env (S3 endpoint and
# EC2 access/secret keys).  Stop with down.sh.
set -euo pipefail
OSBOX=${OSBOX:-/tmp/osbox}
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)   # this folder (read-only is fine); state goes under $OSBOX
SERVICES=${OSBOX_SERVICES:-keystone glance cinder nova swift}
PW=${OSBOX_PASSWORD:-secret}
INSTALL=0; FRESH=0
for a in "$@"; do
  case $a in
    --install) INSTALL=1 ;;
    --fresh) FRESH=1 ;;
    *) echo "unknown arg $a" >&2; exit 2 ;;
  esac
done
want() { [[ " $SERVICES " == *" $1 "* ]]; }
# The Debian services are /usr/bin/python3 scripts; keep pyenv & co. out.
export PATH=/usr/local/sbin:/usr/sbin:/usr/bin:/sbin:/bin
unset PYTHONPATH PYTHONHOME VIRTUAL_ENV || true
ETC=$OSBOX/etc DATA=$OSBOX/data LOG=$OSBOX/log RUN=$OSBOX/run
T0=$(date +%s)
say() { printf '[up %4ss] %s\n' $(( $(date +%s) - T0 )) "$*"; }
# silence eventlet's harmless at-exit tracebacks of the *-manage tools
quiet() { "$@" > >(grep -v -E 'getcurrent|eventlet|Exception ignored|^Traceback|acquire|_removeHandlerRef|File "/usr/lib/python3.11/(logging|threading)|^\s*\^+\s*$|^\s*$|^INFO  \[alembic' >&2) 2>&1; }

# ---------------------------------------------------------------- install
PKGS="keystone python3-openstackclient uwsgi-plugin-python3 rabbitmq-server"
want glance && PKGS+=" glance-api"
{ want cinder || want nova; } && PKGS+=" postgresql python3-psycopg2"
want cinder && PKGS+=" cinder-api cinder-scheduler cinder-volume cinder-backup nfs-common qemu-utils sudo dmidecode python3-cinderclient"
want nova && PKGS+=" nova-api nova-conductor nova-scheduler placement-api python3-nova"
want swift && PKGS+=" swift swift-proxy swift-account swift-container swift-object python3-swiftclient"
if [ $INSTALL = 1 ]; then
  say "apt-get install $PKGS"
  # Packages' postinst would try to start the daemons: forbid that.
  CREATED_POLICY=0
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d; chmod +x /usr/sbin/policy-rc.d; CREATED_POLICY=1
  fi
  # debconf defaults of the openstack-pkg-tools questions are all "false"
  # (no db, no endpoints, no admin tenant): noninteractive is enough.
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
      -o Dpkg::Options::=--force-unsafe-io -o Dpkg::Options::=--force-confold $PKGS
  [ $CREATED_POLICY = 1 ] && rm -f /usr/sbin/policy-rc.d
  say "install done"
fi

if [ $FRESH = 1 ]; then
  "$HERE/down.sh" || true
  rm -rf "$DATA" "$LOG" "$RUN"
fi
mkdir -p "$ETC" "$DATA/locks" "$LOG" "$RUN"

wait_http() { # url timeout_s
  local i; for i in $(seq 1 $(( $2 * 2 ))); do
    curl -s -o /dev/null --max-time 2 "$1" && return 0; sleep 0.5; done
  echo "timeout waiting for $1" >&2; return 1; }
wal() { /usr/bin/python3 -c "import sqlite3,sys;sqlite3.connect(sys.argv[1]).execute('PRAGMA journal_mode=WAL')" "$1"; }
alive() { [ -f "$RUN/$1.pid" ] && kill -0 "$(cat "$RUN/$1.pid")" 2>/dev/null; }
start() { # name cmd...   (background, pid in run/name.pid, stdout in log/name.out)
  local n=$1; shift
  if alive "$n"; then say "$n already running"; return 0; fi
  nohup "$@" > "$LOG/$n.out" 2>&1 < /dev/null &
  echo $! > "$RUN/$n.pid"
}
KSAUTH() { cat <<EOF
www_authenticate_uri = http://127.0.0.1:5000
auth_url = http://127.0.0.1:5000
auth_type = password
project_domain_id = default
user_domain_id = default
project_name = service
username = $1
password = $PW
region_name = RegionOne
EOF
}

# ---------------------------------------------------------------- rabbitmq
mkdir -p "$ETC/rabbitmq" "$DATA/rabbitmq" "$LOG/rabbitmq"
cat > "$ETC/rabbitmq/env.sh" <<EOF
export HOME=$DATA/rabbitmq
export RABBITMQ_CONF_ENV_FILE=$ETC/rabbitmq/rabbitmq-env.conf
export RABBITMQ_NODENAME=rabbit@localhost
export RABBITMQ_NODE_IP_ADDRESS=127.0.0.1
export RABBITMQ_NODE_PORT=5672
export RABBITMQ_DIST_PORT=25672
export ERL_EPMD_ADDRESS=127.0.0.1
export ERL_EPMD_PORT=4369
export RABBITMQ_MNESIA_BASE=$DATA/rabbitmq/mnesia
export RABBITMQ_LOG_BASE=$LOG/rabbitmq
export RABBITMQ_PID_FILE=$RUN/rabbitmq.pid
export RABBITMQ_CONFIG_FILE=$ETC/rabbitmq/rabbitmq
export RABBITMQ_ENABLED_PLUGINS_FILE=$ETC/rabbitmq/enabled_plugins
export RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS="-kernel inet_dist_use_interface {127,0,0,1}"
EOF
: > "$ETC/rabbitmq/rabbitmq-env.conf"
echo '[].' > "$ETC/rabbitmq/enabled_plugins"
cat > "$ETC/rabbitmq/rabbitmq.conf" <<EOF
listeners.tcp.default = 127.0.0.1:5672
loopback_users.guest = true
log.file.level = warning
EOF
if ! alive rabbitmq; then
  say "starting rabbitmq"
  ( . "$ETC/rabbitmq/env.sh"
    start epmd /usr/bin/epmd -address 127.0.0.1 -port 4369
    sleep 0.5
    /usr/lib/rabbitmq/bin/rabbitmq-server -detached )
fi

# ---------------------------------------------------------------- postgresql
# Cinder, placement and nova run several processes on one database. On SQLite their writes fail
# now and then with "database is locked" (oslo.db opens every transaction DEFERRED, so a read that
# turns into a write loses to another process's write), and a volume ends in `error`. They get a
# private PostgreSQL cluster instead, reached through a unix socket only.
if want cinder || want nova; then
  PGBIN=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
  [ -x "$PGBIN/initdb" ] || { echo "postgresql is not installed (run with --install)" >&2; exit 1; }
  PGDATA_DIR=$DATA/pg PGSOCK=$RUN/pg PGPORT=54330
  as_pg() { runuser -u postgres -- "$@"; }
  if [ ! -f "$PGDATA_DIR/PG_VERSION" ]; then
    say "initdb (postgresql for cinder, placement, nova)"
    install -d -o postgres -m 0700 "$PGDATA_DIR"
    as_pg "$PGBIN/initdb" -D "$PGDATA_DIR" -U postgres -E UTF8 --no-locale --auth-local=trust > "$LOG/pg-initdb.log" 2>&1 \
      || { cat "$LOG/pg-initdb.log" >&2; exit 1; }
    # test rig: durability is not worth the time
    printf '%s\n' "fsync = off" "synchronous_commit = off" "full_page_writes = off" "max_connections = 300" \
      "listen_addresses = ''" "port = $PGPORT" "unix_socket_directories = '$PGSOCK'" >> "$PGDATA_DIR/postgresql.conf"
  fi
  install -d -o postgres -m 0755 "$PGSOCK"
  touch "$LOG/postgresql.log"; chown postgres "$LOG/postgresql.log"
  if ! as_pg "$PGBIN/pg_ctl" -D "$PGDATA_DIR" status > /dev/null 2>&1; then
    say "starting postgresql"
    as_pg "$PGBIN/pg_ctl" -D "$PGDATA_DIR" -l "$LOG/postgresql.log" -w -t 60 start > /dev/null \
      || { tail -n 20 "$LOG/postgresql.log" >&2; exit 1; }
  fi
fi
pg_url() { echo "postgresql+psycopg2://postgres@/$1?host=$PGSOCK&port=$PGPORT"; }
pg_createdb() { # name: creates the database unless it exists
  [ "$(as_pg "$PGBIN/psql" -X -q -h "$PGSOCK" -p "$PGPORT" -U postgres -d postgres -tAc \
    "SELECT 1 FROM pg_database WHERE datname = '$1'")" = 1 ] \
    || as_pg "$PGBIN/createdb" -h "$PGSOCK" -p "$PGPORT" -U postgres "$1"; }

# ---------------------------------------------------------------- keystone
mkdir -p "$ETC/keystone"
cat > "$ETC/keystone/keystone.conf" <<EOF
[DEFAULT]
log_dir = $LOG
log_file = keystone.log
[database]
connection = sqlite:///$DATA/keystone.sqlite
[token]
provider = fernet
expiration = 86400
[fernet_tokens]
key_repository = $DATA/fernet-keys
[fernet_receipts]
key_repository = $DATA/fernet-keys
[credential]
key_repository = $DATA/credential-keys
# the memory cache hands back the credential dict that decryption mutated: the second S3
# (s3tokens) check of one EC2 credential fails with KeyError 'encrypted_blob'
caching = false
[cache]
# per-process memory cache: keystone runs as ONE uwsgi process (sqlite)
enabled = true
backend = dogpile.cache.memory
EOF
cat > "$ETC/keystone/uwsgi.ini" <<EOF
[uwsgi]
plugins = python3
master = true
die-on-term = true
lazy-apps = true
buffer-size = 65535
http-socket = 127.0.0.1:5000
; one process, one thread: sqlite + memory cache
processes = 1
threads = 1
; uwsgi http-socket does not keep connections alive: tell clients so
add-header = Connection: close
wsgi-file = /usr/bin/keystone-wsgi-public
env = OS_KEYSTONE_CONFIG_DIR=$ETC/keystone
logto = $LOG/keystone-uwsgi.log
pidfile = $RUN/keystone.pid
EOF
KM="keystone-manage --config-file $ETC/keystone/keystone.conf"
if [ ! -f "$DATA/keystone.sqlite" ]; then
  say "keystone db_sync + bootstrap"
  quiet $KM db_sync
  wal "$DATA/keystone.sqlite"
  quiet $KM fernet_setup --keystone-user root --keystone-group root
  quiet $KM credential_setup --keystone-user root --keystone-group root
  quiet $KM bootstrap --bootstrap-password "$PW" \
      --bootstrap-admin-url http://127.0.0.1:5000/v3/ \
      --bootstrap-public-url http://127.0.0.1:5000/v3/ \
      --bootstrap-internal-url http://127.0.0.1:5000/v3/ \
      --bootstrap-region-id RegionOne
fi
if ! alive keystone; then
  say "starting keystone"
  rm -f "$RUN/keystone.pid"
  uwsgi --ini "$ETC/keystone/uwsgi.ini" --daemonize2 "$LOG/keystone-uwsgi.log"
fi
cat > "$OSBOX/openrc" <<EOF
export OS_AUTH_URL=http://127.0.0.1:5000/v3
export OS_IDENTITY_API_VERSION=3
export OS_USERNAME=admin
export OS_PASSWORD=$PW
export OS_PROJECT_NAME=admin
export OS_USER_DOMAIN_ID=default
export OS_PROJECT_DOMAIN_ID=default
export OS_REGION_NAME=RegionOne
export OS_INTERFACE=public
EOF

# ---------------------------------------------------------------- glance
if want glance; then
  mkdir -p "$ETC/glance" "$DATA/glance/images" "$DATA/glance/staging" "$DATA/glance/tasks"
  cp /etc/glance/glance-api-paste.ini /etc/glance/schema-image.json "$ETC/glance/"
  cat > "$ETC/glance/glance-api.conf" <<EOF
[DEFAULT]
bind_host = 127.0.0.1
bind_port = 9292
workers = 0
graceful_shutdown_timeout = 5
log_dir = $LOG
log_file = glance-api.log
enabled_backends = fs:file
show_image_direct_url = true
[database]
connection = sqlite:///$DATA/glance.sqlite
[glance_store]
default_backend = fs
[fs]
filesystem_store_datadir = $DATA/glance/images
[os_glance_staging_store]
filesystem_store_datadir = $DATA/glance/staging
[os_glance_tasks_store]
filesystem_store_datadir = $DATA/glance/tasks
[keystone_authtoken]
$(KSAUTH glance)
[paste_deploy]
flavor = keystone
config_file = $ETC/glance/glance-api-paste.ini
[oslo_concurrency]
lock_path = $DATA/locks
[oslo_policy]
enforce_new_defaults = false
enforce_scope = false
EOF
  if [ ! -f "$DATA/glance.sqlite" ]; then
    say "glance db_sync"
    quiet glance-manage --config-file "$ETC/glance/glance-api.conf" db_sync
    wal "$DATA/glance.sqlite"
  fi
  say "starting glance-api"
  start glance-api /usr/bin/glance-api --config-file "$ETC/glance/glance-api.conf"
fi

# ---------------------------------------------------------------- cinder
if want cinder; then
  mkdir -p "$ETC/cinder" "$DATA/cinder-state" "$DATA/cinder-mnt" "$DATA/nfs-export" "$DATA/cinder-backups"
  cp /etc/cinder/api-paste.ini /etc/cinder/resource_filters.json "$ETC/cinder/"
  SHARE="127.0.0.1:$DATA/nfs-export"
  echo "$SHARE" > "$ETC/cinder/nfs_shares"
  cat > "$ETC/cinder/cinder.conf" <<EOF
[DEFAULT]
auth_strategy = keystone
my_ip = 127.0.0.1
host = osbox
state_path = $DATA/cinder-state
log_dir = $LOG
api_paste_config = $ETC/cinder/api-paste.ini
resource_query_filters_file = $ETC/cinder/resource_filters.json
osapi_volume_listen = 127.0.0.1
osapi_volume_listen_port = 8776
osapi_volume_workers = 1
transport_url = rabbit://guest:guest@127.0.0.1:5672/
glance_api_servers = http://127.0.0.1:9292
enabled_backends = nfs1
default_volume_type = __DEFAULT__
backup_driver = cinder.backup.drivers.posix.PosixBackupDriver
backup_posix_path = $DATA/cinder-backups
backup_compression_algorithm = none
backup_workers = 1
# test rig: no per-project limits
quota_volumes = -1
quota_snapshots = -1
quota_gigabytes = -1
quota_backups = -1
quota_backup_gigabytes = -1
quota_groups = -1
quota_consistencygroups = -1
rootwrap_config = /etc/cinder/rootwrap.conf
report_interval = 10
# a service counts as down only after 3 minutes without a report: on a busy 2-core machine a
# heartbeat can come late, and the scheduler then refuses every volume or server meanwhile
service_down_time = 180
periodic_interval = 60
# report the pool to the scheduler right after a start, not up to a minute later
periodic_fuzzy_delay = 0
graceful_shutdown_timeout = 5
[nfs1]
volume_driver = cinder.volume.drivers.nfs.NfsDriver
volume_backend_name = nfs1
nfs_shares_config = $ETC/cinder/nfs_shares
nfs_mount_point_base = $DATA/cinder-mnt
nfs_snapshot_support = true
nfs_sparsed_volumes = true
nfs_qcow2_volumes = false
nas_secure_file_operations = false
nas_secure_file_permissions = false
# lets generic groups with consistent_group_snapshot_enabled schedule here
extra_capabilities = {"consistent_group_snapshot_enabled": true}
[database]
connection = $(pg_url cinder)
[keystone_authtoken]
$(KSAUTH cinder)
service_token_roles_required = true
service_token_roles = service
[service_user]
send_service_user_token = true
$(KSAUTH cinder)
[nova]
$(KSAUTH nova)
[oslo_concurrency]
lock_path = $DATA/locks
[oslo_policy]
enforce_new_defaults = false
enforce_scope = false
# running as root: start privsep helpers directly (the rootwrap filter only
# allows config files under /etc)
[privsep_osbrick]
helper_command = privsep-helper --config-file $ETC/cinder/cinder.conf --privsep_context os_brick.privileged.default
[cinder_sys_admin]
helper_command = privsep-helper --config-file $ETC/cinder/cinder.conf --privsep_context cinder.privsep.sys_admin_pctxt
EOF
  # The kernel has no NFS client (and no device-mapper, so no LVM): make the
  # "share" already mounted where the NFS driver (and os-brick in
  # cinder-backup) look for it, i.e. nfs_mount_point_base/md5(share).
  MNT="$DATA/cinder-mnt/$(printf %s "$SHARE" | md5sum | cut -d' ' -f1)"
  mkdir -p "$MNT"
  grep -q " $MNT " /proc/mounts || mount --bind "$DATA/nfs-export" "$MNT"
  if [ ! -f "$DATA/.cinder-db-done" ]; then
    say "cinder db sync"
    pg_createdb cinder
    quiet cinder-manage --config-file "$ETC/cinder/cinder.conf" db sync
    touch "$DATA/.cinder-db-done"
  fi
fi

# ---------------------------------------------------------------- placement + nova
if want nova; then
  mkdir -p "$ETC/placement" "$ETC/nova" "$DATA/nova/instances"
  cat > "$ETC/placement/placement.conf" <<EOF
[DEFAULT]
log_dir = $LOG
log_file = placement.log
[api]
auth_strategy = keystone
[placement_database]
connection = $(pg_url placement)
[keystone_authtoken]
$(KSAUTH placement)
[oslo_policy]
enforce_new_defaults = false
enforce_scope = false
EOF
  sed -e "s#127.0.0.1:5000#127.0.0.1:8778#; s#keystone-wsgi-public#placement-api#; s#OS_KEYSTONE_CONFIG_DIR=.*#OS_PLACEMENT_CONFIG_DIR=$ETC/placement#; s#keystone-uwsgi.log#placement-uwsgi.log#; s#keystone.pid#placement.pid#" \
      "$ETC/keystone/uwsgi.ini" > "$ETC/placement/uwsgi.ini"
  cp /etc/nova/api-paste.ini "$ETC/nova/"
  cat > "$ETC/nova/nova.conf" <<EOF
[DEFAULT]
host = osbox
my_ip = 127.0.0.1
state_path = $DATA/nova
instances_path = $DATA/nova/instances
log_dir = $LOG
transport_url = rabbit://guest:guest@127.0.0.1:5672/
# osbox_fakevirt.SnapshotFakeDriver = nova.virt.fake.FakeDriver whose
# createImage uploads data (registered into nova.virt by lib/nova-compute)
compute_driver = osbox_fakevirt.SnapshotFakeDriver
enabled_apis = osapi_compute
osapi_compute_listen = 127.0.0.1
osapi_compute_listen_port = 8774
osapi_compute_workers = 1
rootwrap_config = /etc/nova/rootwrap.conf
heal_instance_info_cache_interval = -1
report_interval = 10
# a service counts as down only after 3 minutes without a report: on a busy 2-core machine a
# heartbeat can come late, and the scheduler then refuses every volume or server meanwhile
service_down_time = 180
graceful_shutdown_timeout = 5
[wsgi]
api_paste_config = $ETC/nova/api-paste.ini
[api]
auth_strategy = keystone
[api_database]
connection = $(pg_url nova_api)
[database]
connection = $(pg_url nova_cell1)
[conductor]
workers = 1
[scheduler]
workers = 1
discover_hosts_in_cells_interval = 10
[keystone_authtoken]
$(KSAUTH nova)
[service_user]
# cinder (2023 CVE-2023-2088 fix) only lets nova delete attachments when
# nova sends a service token
send_service_user_token = true
$(KSAUTH nova)
[placement]
$(KSAUTH placement)
[glance]
region_name = RegionOne
[cinder]
os_region_name = RegionOne
$(KSAUTH cinder)
[neutron]
$(KSAUTH nova)
[oslo_concurrency]
lock_path = $DATA/locks
[oslo_policy]
enforce_new_defaults = false
enforce_scope = false
[vnc]
enabled = false
[quota]
instances = -1
cores = -1
ram = -1
EOF
  # nova-compute must not see DB settings (it would try direct DB access)
  sed -e '/^\[api_database\]/{n;/^connection/d}' -e '/^\[database\]/{n;/^connection/d}' "$ETC/nova/nova.conf" > "$ETC/nova/nova-cpu.conf"
  if [ ! -f "$DATA/.placement-db-done" ]; then
    say "placement db sync"
    pg_createdb placement
    quiet placement-manage --config-file "$ETC/placement/placement.conf" db sync
    touch "$DATA/.placement-db-done"
  fi
  if [ ! -f "$DATA/.nova-db-done" ]; then
    say "nova api_db sync / cells / db sync"
    for d in nova_api nova_cell0 nova_cell1; do pg_createdb $d; done
    NM="nova-manage --config-file $ETC/nova/nova.conf"
    quiet $NM api_db sync
    quiet $NM cell_v2 map_cell0 --database_connection "$(pg_url nova_cell0)"
    quiet $NM cell_v2 create_cell --name cell1 >/dev/null
    quiet $NM db sync
    touch "$DATA/.nova-db-done"
  fi
fi

# ---------------------------------------------------------------- swift
if want swift; then
  SW=$ETC/swift; mkdir -p "$SW" "$DATA/swift/node/d1" "$DATA/swift/cache"
  cat > "$SW/swift.conf" <<EOF
[swift-hash]
swift_hash_path_suffix = osbox-suffix
swift_hash_path_prefix = osbox-prefix
[storage-policy:0]
name = Policy-0
default = yes
EOF
  for s in account:6202 container:6201 object:6200; do
    n=${s%%:*}; p=${s##*:}
    cat > "$SW/$n-server.conf" <<EOF
[DEFAULT]
bind_ip = 127.0.0.1
bind_port = $p
workers = 0
swift_dir = $SW
devices = $DATA/swift/node
mount_check = false
log_name = swift-$n
log_facility = LOG_LOCAL0
log_udp_host =
[pipeline:main]
pipeline = healthcheck recon $n-server
[app:$n-server]
use = egg:swift#$n
[filter:healthcheck]
use = egg:swift#healthcheck
[filter:recon]
use = egg:swift#recon
recon_cache_path = $DATA/swift/cache
[$n-replicator]
[$n-auditor]
[$n-updater]
[object-expirer]
EOF
  done
  cat > "$SW/proxy-server.conf" <<EOF
[DEFAULT]
bind_ip = 127.0.0.1
bind_port = 8080
workers = 0
swift_dir = $SW
log_name = swift-proxy
[pipeline:main]
pipeline = catch_errors gatekeeper healthcheck proxy-logging listing_formats bulk authtoken s3api s3token keystoneauth copy container-quotas account-quotas slo dlo versioned_writes symlink proxy-logging proxy-server
[app:proxy-server]
use = egg:swift#proxy
account_autocreate = true
[filter:authtoken]
paste.filter_factory = keystonemiddleware.auth_token:filter_factory
$(KSAUTH swift)
delay_auth_decision = true
[filter:s3api]
# S3 API on the same port (path-style: http://127.0.0.1:8080/<bucket>/<key>); buckets are
# containers of the EC2 credential's project. Signatures are checked by Keystone (s3token).
use = egg:swift#s3api
location = us-east-1
[filter:s3token]
use = egg:swift#s3token
auth_uri = http://127.0.0.1:5000/v3
# Keystone (with the 2025 s3tokens fix) only validates S3 signatures for a service user
$(KSAUTH swift)
[filter:keystoneauth]
use = egg:swift#keystoneauth
operator_roles = admin, member
reseller_admin_role = ResellerAdmin
[filter:catch_errors]
use = egg:swift#catch_errors
[filter:gatekeeper]
use = egg:swift#gatekeeper
[filter:healthcheck]
use = egg:swift#healthcheck
[filter:proxy-logging]
use = egg:swift#proxy_logging
[filter:listing_formats]
use = egg:swift#listing_formats
[filter:bulk]
use = egg:swift#bulk
[filter:copy]
use = egg:swift#copy
[filter:container-quotas]
use = egg:swift#container_quotas
[filter:account-quotas]
use = egg:swift#account_quotas
[filter:slo]
use = egg:swift#slo
[filter:dlo]
use = egg:swift#dlo
[filter:versioned_writes]
use = egg:swift#versioned_writes
[filter:symlink]
use = egg:swift#symlink
EOF
  if [ ! -f "$SW/object.ring.gz" ]; then
    say "swift rings"
    for s in account:6202 container:6201 object:6200; do
      n=${s%%:*}; p=${s##*:}
      ( cd "$SW" && swift-ring-builder $n.builder create 8 1 1 >/dev/null &&
        swift-ring-builder $n.builder add r1z1-127.0.0.1:$p/d1 100 >/dev/null &&
        swift-ring-builder $n.builder rebalance >/dev/null ) || true
    done
  fi
fi

# ---------------------------------------------------------------- wait for keystone, catalog
wait_http http://127.0.0.1:5000/v3 60
say "keystone up"
if [ ! -f "$DATA/.catalog-done" ]; then
  . "$OSBOX/openrc"
  OSBOX_PASSWORD=$PW /usr/bin/python3 "$HERE/bootstrap_catalog.py" "$SERVICES"
  touch "$DATA/.catalog-done"
fi

# ---------------------------------------------------------------- start the rest
( . "$ETC/rabbitmq/env.sh"; /usr/lib/rabbitmq/bin/rabbitmqctl -q wait --timeout 120 "$RUN/rabbitmq.pid" >/dev/null )
say "rabbitmq up"
if want cinder; then
  say "starting cinder"
  for s in api scheduler volume backup; do
    start cinder-$s /usr/bin/cinder-$s --config-file "$ETC/cinder/cinder.conf"
  done
fi
if want nova; then
  say "starting placement + nova"
  alive placement || { rm -f "$RUN/placement.pid"; uwsgi --ini "$ETC/placement/uwsgi.ini" --daemonize2 "$LOG/placement-uwsgi.log"; }
  start neutron-stub /usr/bin/python3 "$HERE/lib/neutron_stub.py" 9696
  start nova-api /usr/bin/nova-api --config-file "$ETC/nova/nova.conf"
  start nova-conductor /usr/bin/nova-conductor --config-file "$ETC/nova/nova.conf"
  start nova-scheduler /usr/bin/nova-scheduler --config-file "$ETC/nova/nova.conf"
  start nova-compute env OSBOX_CINDER_MNT_BASE="$DATA/cinder-mnt" /usr/bin/python3 "$HERE/lib/nova-compute" --config-file "$ETC/nova/nova-cpu.conf"
fi
if want swift; then
  say "starting swift"
  for n in account container object; do
    start swift-$n /usr/bin/swift-$n-server "$ETC/swift/$n-server.conf"
  done
  start swift-proxy /usr/bin/swift-proxy-server "$ETC/swift/proxy-server.conf"
fi

# ---------------------------------------------------------------- readiness
want glance && { wait_http http://127.0.0.1:9292/ 60; say "glance up"; }
want swift && { wait_http http://127.0.0.1:8080/healthcheck 60; say "swift up"; }
. "$OSBOX/openrc"
# S3 credentials (an EC2 credential of admin in project admin) for Swift's S3 API.
if want swift && { [ ! -f "$DATA/.ec2-done" ] || [ ! -s "$OSBOX/s3.env" ]; }; then
  EC2=$(openstack ec2 credentials list -f value -c Access -c Secret | head -n 1)
  [ -n "$EC2" ] || EC2=$(openstack ec2 credentials create -f value -c access -c secret | tr '\n' ' ')
  read -r AK SK <<< "$EC2"
  cat > "$OSBOX/s3.env" <<EOF
export S3_ENDPOINT=http://127.0.0.1:8080
export S3_REGION=us-east-1
export AWS_ACCESS_KEY_ID=$AK
export AWS_SECRET_ACCESS_KEY=$SK
EOF
  touch "$DATA/.ec2-done"
  say "S3 API credentials in $OSBOX/s3.env"
fi
if want cinder; then
  wait_http http://127.0.0.1:8776/ 60
  for i in $(seq 1 60); do
    n=$(openstack volume service list -f value -c Binary -c State 2>/dev/null | grep -c ' up$' || true)
    [ "$n" -ge 3 ] && break; sleep 2
  done
  [ "$n" -ge 3 ] || { echo "cinder services not up" >&2; exit 1; }
  # The scheduler refuses every volume ("No valid backend") until cinder-volume has reported its
  # pool, which can take a periodic interval after a (re)start: wait for the pool.
  # (The output is read whole: `| grep -q` would end the pipe early, and with pipefail the
  # client's broken pipe would count as a failure.)
  pool=0
  for i in $(seq 1 90); do
    pools=$(cinder get-pools 2>/dev/null || true)
    if [[ $pools == *"@nfs1#"* ]]; then pool=1; break; fi
    sleep 2
  done
  [ "$pool" = 1 ] || { echo "cinder scheduler never learned the nfs1 pool" >&2; exit 1; }
  say "cinder up ($n services, pool reported)"
fi
if want nova; then
  wait_http http://127.0.0.1:8778/ 60
  wait_http http://127.0.0.1:8774/ 90
  hyp=0
  for i in $(seq 1 60); do
    if [[ $(openstack hypervisor list -f value -c State 2>/dev/null || true) == *up* ]]; then hyp=1; break; fi
    sleep 2
  done
  [ "$hyp" = 1 ] || { echo "nova-compute not up" >&2; exit 1; }
  say "nova up (hypervisor registered)"
  openstack flavor show m1.tiny >/dev/null 2>&1 || openstack flavor create --vcpus 1 --ram 64 --disk 1 m1.tiny >/dev/null
fi
say "all up: $SERVICES  (source $OSBOX/openrc)"

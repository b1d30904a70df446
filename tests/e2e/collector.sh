# shellcheck shell=bash
# A real rsyslogd as a syslog collector on 127.0.0.1 for the end-to-end tests. Sourced; no
# top-level side effects. Never touches /etc/rsyslog.conf, /dev/log or the system service.
#   collector_certs DIR                  throwaway PKI (EC P-256, 1 day) in DIR
#   collector_start DIR PORT tls|mtls|tcp  write DIR/rsyslog.conf, start rsyslogd, wait for PORT
#   collector_stop DIR                   SIGTERM (SIGKILL after 10 s)
#   collector_wait_lines DIR FILE N TIMEOUT_S
# Outputs (appended across restarts): DIR/msg (%msg%), DIR/fields (TAB-separated header), DIR/raw.
# RSYSLOGD overrides /usr/sbin/rsyslogd.

# _collector_sign DIR NAME CA SUBJ EXT — key NAME.key, cert NAME.pem signed by CA.pem/CA.key.
_collector_sign() {
	local d=$1 name=$2 ca=$3 subj=$4 ext=$5
	openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "$subj" \
		-keyout "$d/$name.key" -out "$d/$name.csr" 2>/dev/null &&
		printf '%s\n' "$ext" >"$d/$name.ext" &&
		openssl x509 -req -in "$d/$name.csr" -CA "$d/$ca.pem" -CAkey "$d/$ca.key" -days 1 \
			-set_serial "0x$(openssl rand -hex 8)" -extfile "$d/$name.ext" \
			-out "$d/$name.pem" 2>/dev/null &&
		rm -f "$d/$name.csr" "$d/$name.ext"
}

# _collector_ca DIR NAME CN — self-signed CA NAME.pem/NAME.key.
_collector_ca() {
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 1 -subj "/CN=$3" \
		-addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign \
		-keyout "$1/$2.key" -out "$1/$2.pem" 2>/dev/null
}

collector_certs() {
	local d=$1 leaf='basicConstraints=CA:FALSE
keyUsage=critical,digitalSignature'
	mkdir -p "$d" || return 1
	(
		umask 077
		_collector_ca "$d" ca "keywatch test CA" &&
			_collector_ca "$d" other-ca "unrelated test CA" &&
			_collector_sign "$d" server ca /CN=collector.keywatch.test "$leaf
extendedKeyUsage=serverAuth
subjectAltName=DNS:collector.keywatch.test,IP:127.0.0.1" &&
			_collector_sign "$d" client ca /CN=keywatch-agent "$leaf
extendedKeyUsage=clientAuth" &&
			_collector_sign "$d" other-client other-ca /CN=keywatch-agent "$leaf
extendedKeyUsage=clientAuth"
	) || { echo "collector_certs: openssl failed" >&2; return 1; }
	chmod 0644 "$d"/*.pem && chmod 0600 "$d"/*.key
}

# _collector_conf DIR PORT MODE — prints the rsyslog.conf.
_collector_conf() {
	local d=$1 port=$2 mode=$3 auth='' tlsg=''
	case $mode in
	tls) auth=anon ;;
	mtls) auth=x509/certvalid ;;
	tcp) ;;
	*) echo "collector_start: bad mode '$mode' (tls|mtls|tcp)" >&2; return 1 ;;
	esac
	[ -n "$auth" ] && tlsg="
       defaultNetstreamDriverCAFile=\"$d/ca.pem\" defaultNetstreamDriverCertFile=\"$d/server.pem\"
       defaultNetstreamDriverKeyFile=\"$d/server.key\""
	# No escaping, no trailing-LF stripping: %msg% must be the MSG bytes as sent (NUL still -> #000).
	cat <<EOF
global(workDirectory="$d/work" maxMessageSize="256k" net.enableDNS="off"
       parser.escapeControlCharactersOnReceive="off" parser.escape8BitCharactersOnReceive="off"
       parser.dropTrailingLFOnReception="off"$tlsg)
module(load="imtcp" maxSessions="100"${auth:+ streamDriver.name=\"ossl\" streamDriver.mode=\"1\" streamDriver.authMode=\"$auth\"})
template(name="kwMsg" type="string" string="%msg%\n")
template(name="kwRaw" type="string" string="%rawmsg%\n")
template(name="kwFields" type="list") {
  property(name="pri") constant(value="\t") property(name="protocol-version") constant(value="\t")
  property(name="timereported" dateFormat="rfc3339") constant(value="\t")
  property(name="hostname") constant(value="\t") property(name="app-name") constant(value="\t")
  property(name="procid") constant(value="\t") property(name="msgid") constant(value="\t")
  property(name="structured-data") constant(value="\n")
}
ruleset(name="kwCollect") {
  action(type="omfile" file="$d/msg" template="kwMsg")
  action(type="omfile" file="$d/fields" template="kwFields")
  action(type="omfile" file="$d/raw" template="kwRaw")
}
input(type="imtcp" address="127.0.0.1" port="$port" ruleset="kwCollect" maxFrameSize="262144")
EOF
}

# _collector_listening PORT [PID] — PORT has a listener (owned by PID, if given).
_collector_listening() {
	ss -Hltnp "sport = :$1" 2>/dev/null | grep -q "${2:+pid=$2,}"
}

# _collector_alive PID — running and not a zombie.
_collector_alive() {
	case $(ps -o stat= -p "$1" 2>/dev/null) in '' | Z*) return 1 ;; esac
}

collector_start() {
	local d=$1 port=$2 mode=$3 pid left=100
	mkdir -p "$d/work" || return 1
	_collector_conf "$d" "$port" "$mode" >"$d/rsyslog.conf" || return 1
	# Config check first: rsyslogd otherwise starts despite unknown parameters.
	if ! "${RSYSLOGD:-/usr/sbin/rsyslogd}" -N1 -f "$d/rsyslog.conf" >>"$d/rsyslog.log" 2>&1; then
		echo "collector_start: invalid $d/rsyslog.conf; $d/rsyslog.log:" >&2
		cat "$d/rsyslog.log" >&2
		return 1
	fi
	# A leftover pid file naming a live (reused) pid would make rsyslogd refuse to start.
	if [ -s "$d/rsyslog.pid" ] && ! _collector_alive "$(cat "$d/rsyslog.pid")"; then
		rm -f "$d/rsyslog.pid"
	fi
	if _collector_listening "$port"; then
		echo "collector_start: port $port already in use" >&2
		return 1
	fi
	"${RSYSLOGD:-/usr/sbin/rsyslogd}" -n -f "$d/rsyslog.conf" -i "$d/rsyslog.pid" >>"$d/rsyslog.log" 2>&1 </dev/null &
	pid=$!
	while [ "$left" -gt 0 ] && _collector_alive "$pid"; do
		_collector_listening "$port" "$pid" && [ -s "$d/rsyslog.pid" ] && return 0
		left=$((left - 1))
		sleep 0.1
	done
	echo "collector_start: rsyslogd not listening on $port; $d/rsyslog.log:" >&2
	cat "$d/rsyslog.log" >&2
	kill -KILL "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
	rm -f "$d/rsyslog.pid"
	return 1
}

collector_stop() {
	local d=$1 pid left=200
	[ -s "$d/rsyslog.pid" ] || return 0
	pid=$(cat "$d/rsyslog.pid")
	kill -TERM "$pid" 2>/dev/null || { rm -f "$d/rsyslog.pid"; return 0; }
	while [ "$left" -gt 0 ] && _collector_alive "$pid"; do
		left=$((left - 1))
		sleep 0.05
	done
	if _collector_alive "$pid"; then
		echo "collector_stop: rsyslogd $pid ignored SIGTERM, killing" >&2
		kill -KILL "$pid" 2>/dev/null
		sleep 0.2
	fi
	wait "$pid" 2>/dev/null
	rm -f "$d/rsyslog.pid"
	return 0
}

collector_wait_lines() {
	local f=$1/$2 n=$3 left=$(($4 * 10))
	while [ "$(wc -l 2>/dev/null <"$f" || echo 0)" -lt "$n" ]; do
		[ "$left" -le 0 ] && return 1
		left=$((left - 1))
		sleep 0.1
	done
}

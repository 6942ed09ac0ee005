# Sourced by the start scripts: is a port on 127.0.0.1 listening, and wait until it is.
listening() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

wait_for() { # port name seconds
  for _ in $(seq 1 "$3"); do listening "$1" && return 0; sleep 1; done
  echo "start-brokers: $2 is not listening on 127.0.0.1:$1 after $3 s" >&2
  return 1
}

#!/usr/bin/env bash
# Runs every test: GoogleTest unit tests (ctest), pg_regress and pg_isolation_regress against a
# throwaway cluster, the PGXS build (it must build the same module as CMake), the .clang-format check,
# a short run of each fuzz target, the HTTP server's integration tests, the openai npm client against
# the server, the chat page in a browser, the Citus equivalence test and the README examples.
# Prints one closing line: "N passed, M failed".
set -uo pipefail
cd "$(dirname "$0")/.."
BUILD="${BUILD:-build}"
PORT="${PGRAG_TEST_PORT:-55433}"
passed=0
failed=0
note() { printf '\n=== %s\n' "$*"; }
# The test ports (55430-55599) lie in Linux's ephemeral range (32768-60999): an outgoing connection of
# any program may take one of them just before a test server binds it. As root, reserve them.
if [ -w /proc/sys/net/ipv4/ip_local_reserved_ports ]; then
  reserved=$(cat /proc/sys/net/ipv4/ip_local_reserved_ports)
  case ",$reserved," in *,55430-55599,*) ;; *) echo "${reserved:+$reserved,}55430-55599" >/proc/sys/net/ipv4/ip_local_reserved_ports 2>/dev/null || true ;; esac
fi

# 1. Unit tests of the core library.
note "unit tests (ctest)"
ctest --test-dir "$BUILD" --output-on-failure -j2 2>&1 | tee "$BUILD/ctest.log"
unit_total=$(sed -n 's/.*tests passed, \([0-9]*\) tests failed out of \([0-9]*\).*/\2/p' "$BUILD/ctest.log" | tail -1)
unit_failed=$(sed -n 's/.*tests passed, \([0-9]*\) tests failed out of \([0-9]*\).*/\1/p' "$BUILD/ctest.log" | tail -1)
if [ -z "$unit_total" ]; then unit_total=1; unit_failed=1; fi
passed=$((passed + unit_total - unit_failed)); failed=$((failed + unit_failed))

# 2. Regression tests against a throwaway cluster, started and stopped here.
note "regression tests (pg_regress)"
DATADIR="$(mktemp -d /tmp/pg_rag_test.XXXXXX)"
chmod 755 "$DATADIR"
FAKE_PORT="${PGRAG_FAKE_PORT:-55480}"
cleanup() {
  [ -n "${FAKE_PID:-}" ] && kill "$FAKE_PID" 2>/dev/null
  bash docker/pg-cluster.sh stop "$DATADIR/data" >/dev/null 2>&1; rm -rf "$DATADIR"
}
trap cleanup EXIT
# The fake provider the SQL tests call (it stops by itself after an hour at most).
"$BUILD/fake_provider" "$FAKE_PORT" 3600 >"$BUILD/fake_provider.log" 2>&1 &
FAKE_PID=$!
# Test files where the server (another user) can read them, at a fixed path the tests name.
rm -rf /tmp/pg_rag_test_files && cp -r tests/data /tmp/pg_rag_test_files && chmod -R a+rX /tmp/pg_rag_test_files
# The Gemini and Anthropic keys come from the postmaster's environment, as a deployment would provide them,
# bound to the fake (an environment key only goes to *_BASE_URL, or the provider's default URL).
# No OPENAI_API_KEY: the SQL tests store that key with rag_set_provider_key.
env -u OPENAI_API_KEY -u OPENAI_BASE_URL \
  GEMINI_API_KEY=AIzaTestKey0123456789 GEMINI_BASE_URL="http://127.0.0.1:$FAKE_PORT" \
  ANTHROPIC_API_KEY=sk-ant-test-0123456789 ANTHROPIC_BASE_URL="http://127.0.0.1:$FAKE_PORT" \
  bash tests/start-test-cluster.sh "$DATADIR" "$PORT"
rm -rf "$BUILD/regress" && mkdir -p "$BUILD/regress"
# The SQL tests name the fake provider at its default port, 55480; with another PGRAG_FAKE_PORT (of the
# same length, so that psql's column widths stay) they run from a copy that names that port.
REGRESS_IN=tests/regress
if [ "$FAKE_PORT" != 55480 ]; then
  REGRESS_IN="$BUILD/regress-input"
  rm -rf "$REGRESS_IN" && cp -r tests/regress "$REGRESS_IN"
  sed -i -e "s/127\.0\.0\.1:55480/127.0.0.1:$FAKE_PORT/g" -e "s/localhost:55480/localhost:$FAKE_PORT/g" \
    "$REGRESS_IN"/sql/*.sql "$REGRESS_IN"/expected/*.out
fi
PGUSER=postgres "$(pg_config --pkglibdir)/pgxs/src/test/regress/pg_regress" \
  --host=127.0.0.1 --port="$PORT" --inputdir="$REGRESS_IN" --outputdir="$BUILD/regress" \
  --dbname=pg_rag_regress --load-extension=pg_rag --schedule="$REGRESS_IN/schedule" 2>&1 | tee "$BUILD/regress.log"
regress_line=$(grep -E 'All [0-9]+ tests passed|[0-9]+ of [0-9]+ tests (failed|passed)' "$BUILD/regress.log" | tail -1)
if [[ "$regress_line" =~ All\ ([0-9]+)\ tests\ passed ]]; then
  passed=$((passed + BASH_REMATCH[1]))
elif [[ "$regress_line" =~ ([0-9]+)\ of\ ([0-9]+)\ tests\ failed ]]; then
  failed=$((failed + BASH_REMATCH[1])); passed=$((passed + BASH_REMATCH[2] - BASH_REMATCH[1]))
  [ -f "$BUILD/regress/regression.diffs" ] && head -200 "$BUILD/regress/regression.diffs"
else
  failed=$((failed + 1)); tail -20 "$DATADIR/data/server.log" 2>/dev/null
fi

# 2b. Isolation tests (two sessions at once: SKIP LOCKED claims) against the same cluster.
note "isolation tests (pg_isolation_regress)"
rm -rf "$BUILD/isolation" && mkdir -p "$BUILD/isolation"
PGUSER=postgres "$(pg_config --pkglibdir)/pgxs/src/test/isolation/pg_isolation_regress" \
  --host=127.0.0.1 --port="$PORT" --inputdir=tests/isolation --outputdir="$BUILD/isolation" \
  --dbname=pg_rag_isolation --load-extension=pg_rag $(cd tests/isolation/specs && ls *.spec | sed 's/\.spec$//') \
  2>&1 | tee "$BUILD/isolation.log"
isolation_line=$(grep -E 'All [0-9]+ tests passed|[0-9]+ of [0-9]+ tests (failed|passed)' "$BUILD/isolation.log" | tail -1)
if [[ "$isolation_line" =~ All\ ([0-9]+)\ tests\ passed ]]; then
  passed=$((passed + BASH_REMATCH[1]))
elif [[ "$isolation_line" =~ ([0-9]+)\ of\ ([0-9]+)\ tests\ failed ]]; then
  failed=$((failed + BASH_REMATCH[1])); passed=$((passed + BASH_REMATCH[2] - BASH_REMATCH[1]))
  [ -f "$BUILD/isolation/regression.diffs" ] && head -100 "$BUILD/isolation/regression.diffs"
else
  failed=$((failed + 1))
fi

# 3. The PGXS build compiles the same sources into a module exporting the same SQL functions.
note "PGXS build agrees with CMake"
if bash tests/check-pgxs.sh "$BUILD"; then passed=$((passed + 1)); else failed=$((failed + 1)); fi

# 4. The C++ follows the checked-in .clang-format.
note "clang-format"
if bash tests/check-format.sh; then passed=$((passed + 1)); else failed=$((failed + 1)); fi

# 5. A short run of every libFuzzer target (a few seconds each; the long runs are in bench/README.md).
note "fuzz targets (short run)"
if [ "${PGRAG_SKIP_FUZZ:-0}" = 1 ]; then
  echo "skipped (PGRAG_SKIP_FUZZ=1)"
elif make -s fuzz BUILD_FUZZ="${BUILD_FUZZ:-build-fuzz}" >"$BUILD/fuzz-build.log" 2>&1; then
  BUILD_FUZZ="${BUILD_FUZZ:-build-fuzz}" bash tests/fuzz/run.sh "${PGRAG_FUZZ_SECONDS:-4}" | tee "$BUILD/fuzz.log"
  fuzz_line=$(grep -E '^fuzz: [0-9]+ passed, [0-9]+ failed' "$BUILD/fuzz.log" | tail -1)
  if [[ "$fuzz_line" =~ ([0-9]+)\ passed,\ ([0-9]+)\ failed ]]; then
    passed=$((passed + BASH_REMATCH[1])); failed=$((failed + BASH_REMATCH[2]))
  else
    failed=$((failed + 1))
  fi
else
  tail -20 "$BUILD/fuzz-build.log"; failed=$((failed + 1))
fi

# 6. The HTTP server over real HTTP against its own throwaway cluster (tests/server-tests.sh).
note "HTTP server integration tests"
bash tests/server-tests.sh 2>&1 | tee "$BUILD/server-tests.log"
server_line=$(grep -E '^server tests: [0-9]+ passed, [0-9]+ failed' "$BUILD/server-tests.log" | tail -1)
if [[ "$server_line" =~ ([0-9]+)\ passed,\ ([0-9]+)\ failed ]]; then
  passed=$((passed + BASH_REMATCH[1])); failed=$((failed + BASH_REMATCH[2]))
else
  failed=$((failed + 1))
fi

# 7. The official openai npm client against the server (tests/openai-client-test.sh; Node 20 and npm).
note "openai npm client"
bash tests/openai-client-test.sh 2>&1 | tee "$BUILD/openai-client.log"
openai_line=$(grep -E '^openai client: [0-9]+ passed, [0-9]+ failed' "$BUILD/openai-client.log" | tail -1)
if [[ "$openai_line" =~ ([0-9]+)\ passed,\ ([0-9]+)\ failed ]]; then
  passed=$((passed + BASH_REMATCH[1])); failed=$((failed + BASH_REMATCH[2]))
else
  failed=$((failed + 1))
fi

# 8. The chat page in a real browser (tests/web-tests.sh: chromium through puppeteer-core).
note "chat page in a browser"
bash tests/web-tests.sh 2>&1 | tee "$BUILD/web-tests.log"
web_line=$(grep -E '^web tests: [0-9]+ passed, [0-9]+ failed' "$BUILD/web-tests.log" | tail -1)
if [[ "$web_line" =~ ([0-9]+)\ passed,\ ([0-9]+)\ failed ]]; then
  passed=$((passed + BASH_REMATCH[1])); failed=$((failed + BASH_REMATCH[2]))
else
  failed=$((failed + 1))
fi

# 8b. The knowledge base distributed with Citus gives the same answers as one node (tests/citus-tests.sh;
# builds Citus from ../shared/anchors when it is not installed, skipped with a message when that is absent).
# Twice: a cluster distributed by the previous release and then updated, and one distributed by this one.
for from in 0.8.0 current; do
  note "Citus equivalence test (pg_rag $from on the cluster)"
  PGRAG_CITUS_FROM_VERSION=$from bash tests/citus-tests.sh 2>&1 | tee "$BUILD/citus-tests-$from.log"
  citus_line=$(grep -E '^citus tests: ' "$BUILD/citus-tests-$from.log" | tail -1)
  if [[ "$citus_line" =~ ([0-9]+)\ passed,\ ([0-9]+)\ failed ]]; then
    passed=$((passed + BASH_REMATCH[1])); failed=$((failed + BASH_REMATCH[2]))
  elif [[ "$citus_line" != *skipped* ]]; then
    failed=$((failed + 1))
  fi
done

# 9. Every example of the README runs as written after `make run`.
note "README examples"
if bash tests/readme-examples.sh; then passed=$((passed + 1)); else failed=$((failed + 1)); fi

echo
echo "pg_rag: $passed passed, $failed failed"
[ "$failed" -eq 0 ]

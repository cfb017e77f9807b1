-- API keys and usage events of the HTTP server's callers (0.7.0). A key is shown once and only its
-- SHA-256 is kept; the management and verification functions are closed to PUBLIC: each block after
-- the first plays an attacker (rag_key_thief, a plain role) or the server's role (rag_key_server).

-- 1. Making, listing, verifying and revoking keys (as a superuser).
SELECT rag_create_api_key('ci', 'alice', '{read}') AS alice_key \gset
SELECT rag_create_api_key('laptop', 'bob', '{write,read,read}', now() + interval '1 day', 'acme') AS bob_key \gset
SELECT :'alice_key' ~ '^prag_[0-9a-f]{12}_[0-9a-f]{64}$' AS well_formed, :'alice_key' <> :'bob_key' AS distinct_keys;
SELECT name, user_id, tenant_id, scopes, prefix = substr(:'alice_key', 6, 12) AS prefix_shown,
       last_used_at, expires_at IS NOT NULL AS expires, revoked_at
  FROM rag_api_keys() ORDER BY id;
-- Only the hash is stored: the secret appears nowhere in the table.
SELECT count(*) AS by_hash FROM rag_api_keys WHERE key_hash = sha256(convert_to(:'alice_key', 'UTF8'));
SELECT count(*) AS secret_stored FROM rag_api_keys k WHERE strpos(k::text, substr(:'alice_key', 19)) > 0
   OR strpos(encode(k.key_hash, 'hex'), substr(:'alice_key', 19)) > 0;
SELECT user_id, tenant_id, scopes, key_id > 0 AS key_id, expires_at, status FROM rag_verify_api_key(:'alice_key');
SELECT user_id, tenant_id, scopes, expires_at > now() AS expires_later, status FROM rag_verify_api_key(:'bob_key');
-- A use is noted, at most once a minute.
SELECT last_used_at IS NOT NULL AS used FROM rag_api_keys() WHERE user_id = 'alice';
UPDATE rag_api_keys SET last_used_at = now() - interval '10 seconds' WHERE user_id = 'alice';
SELECT count(*) FROM rag_verify_api_key(:'alice_key');
SELECT last_used_at < now() - interval '5 seconds' AS not_rewritten FROM rag_api_keys() WHERE user_id = 'alice';
UPDATE rag_api_keys SET last_used_at = now() - interval '2 minutes' WHERE user_id = 'alice';
SELECT count(*) FROM rag_verify_api_key(:'alice_key');
SELECT last_used_at > now() - interval '5 seconds' AS rewritten FROM rag_api_keys() WHERE user_id = 'alice';
-- Unknown, malformed, or a key with one character changed: no row.
SELECT count(*) AS unknown FROM rag_verify_api_key('prag_000000000000_' || repeat('0', 64));
SELECT count(*) AS malformed FROM rag_verify_api_key('Bearer ' || :'alice_key');
SELECT count(*) AS altered FROM rag_verify_api_key(left(:'alice_key', -1) || CASE WHEN right(:'alice_key', 1) = '0' THEN '1' ELSE '0' END);
SELECT count(*) AS null_key FROM rag_verify_api_key(NULL);
-- Expired and revoked keys are known, and say so.
UPDATE rag_api_keys SET expires_at = now() - interval '1 second' WHERE user_id = 'bob';
SELECT user_id, status FROM rag_verify_api_key(:'bob_key');
SELECT rag_revoke_api_key(id) AS revoked FROM rag_api_keys() WHERE user_id = 'alice';
SELECT rag_revoke_api_key(id) AS revoked_again FROM rag_api_keys() WHERE user_id = 'alice';
SELECT rag_revoke_api_key(0) AS no_such_key;
SELECT user_id, status FROM rag_verify_api_key(:'alice_key');
SELECT user_id, revoked_at IS NOT NULL AS revoked FROM rag_api_keys() ORDER BY id;
-- Bad requests.
SELECT rag_create_api_key('', 'carol');
SELECT rag_create_api_key('x', ' ');
SELECT rag_create_api_key('x', E'carol\nX-Injected: 1');
SELECT rag_create_api_key('x', 'carol', '{read,delete}');
SELECT rag_create_api_key('x', 'carol', '{}');
SELECT rag_create_api_key('x', 'carol', ARRAY['read', NULL]);
SELECT rag_create_api_key('x', 'carol', '{read}', now() - interval '1 hour');
SELECT rag_create_api_key('x', 'carol', '{read}', NULL, '');

-- 2. A plain role can neither make, list, revoke nor verify keys, nor read hashes or usage.
CREATE ROLE rag_key_thief;
SET ROLE rag_key_thief;
SELECT rag_create_api_key('mine', 'mallory', '{admin}');
SELECT * FROM rag_api_keys;
SELECT * FROM rag_api_keys();
SELECT rag_revoke_api_key(1);
SELECT * FROM rag_verify_api_key(:'bob_key');
SELECT rag_record_usage('[{"event": "question", "user_id": "alice"}]');
SELECT * FROM rag_usage_summary();
SELECT * FROM rag_usage_events;
RESET ROLE;

-- 3. The server's role, granted what the README says, verifies keys and records usage without
-- reading the tables behind them.
CREATE ROLE rag_key_server;
GRANT EXECUTE ON FUNCTION rag_verify_api_key(text), rag_record_usage(jsonb),
      rag_usage_summary(timestamptz, timestamptz, text) TO rag_key_server;
SET ROLE rag_key_server;
SELECT rag_create_api_key('ci2', 'dave') AS dave_key \gset
SELECT count(*) AS verified FROM rag_verify_api_key(:'bob_key');
SELECT * FROM rag_api_keys;
SELECT rag_record_usage('[{"event": "question", "user_id": "alice", "occurred_at": "2024-05-01T10:00:00Z"},
  {"event": "answer", "user_id": "alice", "key_id": 1, "provider": "openai", "model": "gpt-4o-mini",
   "prompt_tokens": 120, "completion_tokens": 30, "latency_ms": 800, "occurred_at": "2024-05-01T10:00:01Z"},
  {"event": "question", "user_id": "alice", "occurred_at": "2024-05-01T23:59:59Z"},
  {"event": "answer", "user_id": "alice", "provider": "openai", "prompt_tokens": 100, "completion_tokens": 20,
   "latency_ms": 400, "occurred_at": "2024-05-02T00:00:00Z"},
  {"event": "upload", "user_id": "bob", "tenant_id": "acme", "detail": {"document_id": 7}, "occurred_at": "2024-05-01T12:00:00Z"},
  {"event": "delete", "user_id": "bob", "tenant_id": "acme", "occurred_at": "2024-05-01T12:30:00Z"},
  {"event": "sign_in_failure", "detail": {"address": "192.0.2.1", "reason": "unknown_key"}, "occurred_at": "2024-05-01T13:00:00Z"}]') AS recorded;
SELECT * FROM rag_usage_events;
RESET ROLE;
-- By day (UTC) and user; a window; one user.
SELECT * FROM rag_usage_summary('2024-05-01 00:00+00', '2024-05-03 00:00+00');
SELECT day, user_id, questions, answers FROM rag_usage_summary('2024-05-02 00:00+00', '2024-05-03 00:00+00');
SELECT day, user_id, uploads, deletes FROM rag_usage_summary('2024-05-01 00:00+00', '2024-05-03 00:00+00', 'bob');
SELECT count(*) AS default_window FROM rag_usage_summary();
-- Events are checked: an unknown kind or anything but an array records nothing.
\set VERBOSITY terse
SELECT rag_record_usage('[{"event": "question", "user_id": "x"}, {"event": "coffee"}]');
SELECT rag_record_usage('{"event": "question"}');
\set VERBOSITY default
SELECT rag_record_usage('[]') AS none;
SELECT count(*) AS events FROM rag_usage_events;

DELETE FROM rag_usage_events;
DELETE FROM rag_api_keys;
REVOKE ALL ON FUNCTION rag_verify_api_key(text), rag_record_usage(jsonb),
      rag_usage_summary(timestamptz, timestamptz, text) FROM rag_key_server;
DROP ROLE rag_key_server;
DROP ROLE rag_key_thief;

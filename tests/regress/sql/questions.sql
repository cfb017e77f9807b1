-- Queued questions (the table behind POST /api/questions) and the steps of a question worker:
-- enqueue, claim with a lease, extend, finish or fail (retries bounded), release, prune; and who may
-- call which. Time passing is simulated by moving a question's timestamps, never by sleeping.
-- (SKIP LOCKED across two sessions: tests/isolation/specs/questions_skip_locked.spec.)
TRUNCATE rag_questions;

-- Refused before anything is queued, with the field named.
SELECT rag_enqueue_question('  ');
SELECT rag_enqueue_question(NULL);
SELECT rag_enqueue_question('q', k => 0);
SELECT rag_enqueue_question('q', mode => 'fuzzy');
SELECT rag_enqueue_question('q', filter => '[1]');
SELECT rag_enqueue_question('q', session_id => '');
SELECT count(*) AS queued FROM rag_questions;

SELECT rag_enqueue_question('How long do refunds take?') AS q1 \gset
SELECT rag_enqueue_question('Can digital goods be refunded?', session_id => 'queue-session', k => 3,
                            mode => 'keyword', filter => '{"lang": "en"}') AS q2 \gset
SELECT rag_question(:'q1') - 'id' - 'created_at' AS state, rag_question(:'q1') ->> 'id' = :'q1' AS same_id;
SELECT request FROM rag_questions WHERE id = :'q2';
SELECT rag_question('00000000-0000-0000-0000-000000000000') IS NULL AS unknown, rag_question(NULL) IS NULL AS null_id;

-- Oldest first. Two claims in one transaction get two different questions; a third finds none.
BEGIN;
SELECT id = :'q1' AS got_q1, attempts, request ->> 'question' AS question FROM rag_claim_question('w1', '5 minutes');
SELECT id = :'q2' AS got_q2, attempts FROM rag_claim_question('w1', '5 minutes');
SELECT count(*) AS nothing_left FROM rag_claim_question('w2', '5 minutes');
COMMIT;
SELECT request ->> 'question' AS question, status, attempts, claimed_by, lease_until > now() AS leased,
       started_at IS NOT NULL AS started, finished_at IS NULL AS unfinished
  FROM rag_questions ORDER BY created_at;
SELECT rag_question(:'q1') ->> 'status' AS status;

-- Only the worker holding a question extends, finishes or fails it.
SELECT rag_extend_question_lease(:'q1', 'w2', '1 minute') AS other_extends,
       rag_finish_question(:'q1', 'w2', '{"answer": "forged"}') AS other_finishes,
       rag_fail_question(:'q1', 'w2', '{"message": "forged"}') IS NULL AS other_fail_ignored,
       rag_release_question(:'q1', 'w2') AS other_releases;
SELECT rag_extend_question_lease(:'q1', 'w1', '1 hour') AS extended;
SELECT lease_until > now() + interval '59 minutes' AS lease_moved FROM rag_questions WHERE id = :'q1';
-- An answer of another shape is refused, and nothing is written.
SELECT rag_finish_question(:'q1', 'w1', '{"text": "no answer field"}');
SELECT rag_finish_question(:'q1', 'w1', NULL);
SELECT rag_finish_question(:'q1', 'w1', '{"answer": "Five business days. [1]", "sources": [], "provider": "extractive"}')
       AS finished;
SELECT rag_finish_question(:'q1', 'w1', '{"answer": "again"}') AS finished_twice;
SELECT rag_question(:'q1') - 'id' - 'created_at' - 'started_at' - 'finished_at' AS state,
       (rag_question(:'q1') ->> 'finished_at') IS NOT NULL AS finished_at;
-- A question asked in a session: the turn is recorded with the answer, in the same transaction.
SELECT rag_finish_question(:'q2', 'w1', '{"answer": "No. [1]", "sources": [], "provider": "extractive", "model": "m"}');
SELECT role, content, provider FROM rag_session_messages('queue-session');

-- A failed attempt is queued again after retry_delay * 2^(attempts - 1), until retries are used up.
SELECT rag_enqueue_question('A provider that fails') AS q3 \gset
SELECT attempts FROM rag_claim_question('w1', '1 minute', retries => 2);
SELECT rag_fail_question(:'q3', 'w1', '{"message": "ollama: HTTP 500", "type": "provider_error", "code": "provider_error"}',
                         retries => 2, retry_delay => '1 hour') AS status;
SELECT status, retry_at > now() + interval '59 minutes' AS waits_an_hour, claimed_by, lease_until,
       rag_question(id) -> 'error' AS error_shown
  FROM rag_questions WHERE id = :'q3';
SELECT count(*) AS not_before_retry_at FROM rag_claim_question('w1', '1 minute', retries => 2);
UPDATE rag_questions SET retry_at = now() - interval '1 second' WHERE id = :'q3';  -- the hour passed
SELECT attempts FROM rag_claim_question('w1', '1 minute', retries => 2);
SELECT rag_fail_question(:'q3', 'w1', '{"message": "ollama: HTTP 500"}', retries => 2, retry_delay => '0') AS status;
SELECT attempts FROM rag_claim_question('w1', '1 minute', retries => 2);
SELECT rag_fail_question(:'q3', 'w1', '{"message": "ollama: HTTP 500", "type": "provider_error"}', retries => 2,
                         retry_delay => '0') AS status;
SELECT count(*) AS not_claimed_again FROM rag_claim_question('w1', '1 minute', retries => 2);
SELECT rag_question(:'q3') -> 'status' AS status, rag_question(:'q3') -> 'attempts' AS attempts,
       rag_question(:'q3') -> 'error' AS error, rag_question(:'q3') -> 'answer' AS answer;
-- retries => 0 (an error retrying cannot mend): failed on the first attempt.
SELECT rag_enqueue_question('A bad filter') AS q4 \gset
SELECT attempts FROM rag_claim_question('w1', '1 minute');
SELECT rag_fail_question(:'q4', 'w1', '{"message": "bad filter"}', retries => 0) AS status;

-- A worker that died: once its lease runs out, another worker claims the question (a new attempt),
-- and the first one can no longer extend, finish or fail it.
SELECT rag_enqueue_question('Asked while a server died') AS q5 \gset
SELECT attempts FROM rag_claim_question('w-dead', '5 minutes');
SELECT count(*) AS leased_elsewhere FROM rag_claim_question('w2', '5 minutes');
UPDATE rag_questions SET lease_until = now() - interval '1 second' WHERE id = :'q5';  -- the lease ran out
SELECT id = :'q5' AS reclaimed, attempts FROM rag_claim_question('w2', '5 minutes');
SELECT rag_extend_question_lease(:'q5', 'w-dead', '1 minute') AS dead_extends,
       rag_finish_question(:'q5', 'w-dead', '{"answer": "late"}') AS dead_finishes,
       rag_fail_question(:'q5', 'w-dead', '{"message": "late"}') IS NULL AS dead_fail_ignored;
SELECT rag_finish_question(:'q5', 'w2', '{"answer": "answered by w2"}') AS finished;
SELECT rag_question(:'q5') -> 'answer' AS answer, rag_question(:'q5') -> 'attempts' AS attempts;
-- A question whose worker dies on every attempt fails ("abandoned") instead of being claimed forever.
SELECT rag_enqueue_question('Crashes every server') AS q6 \gset
SELECT attempts FROM rag_claim_question('w-dead', '5 minutes', retries => 1);
UPDATE rag_questions SET lease_until = now() - interval '1 second' WHERE id = :'q6';
SELECT attempts FROM rag_claim_question('w-dead', '5 minutes', retries => 1);
UPDATE rag_questions SET lease_until = now() - interval '1 second' WHERE id = :'q6';
SELECT count(*) AS not_claimed FROM rag_claim_question('w-dead', '5 minutes', retries => 1);
SELECT rag_question(:'q6') -> 'status' AS status, rag_question(:'q6') -> 'error' AS error;

-- Released (a server shutting down mid-answer): queued again, the attempt not counted.
SELECT rag_enqueue_question('Asked during a deploy') AS q7 \gset
SELECT attempts FROM rag_claim_question('w1', '5 minutes');
SELECT rag_release_question(:'q7', 'w1') AS released, rag_release_question(:'q7', 'w1') AS released_twice;
SELECT status, attempts, claimed_by, lease_until FROM rag_questions WHERE id = :'q7';

-- Checks of the worker's arguments.
\set VERBOSITY terse
SELECT * FROM rag_claim_question('', '1 minute');
SELECT * FROM rag_claim_question(NULL, '1 minute');
SELECT * FROM rag_claim_question('w1', '0 seconds');
SELECT * FROM rag_claim_question('w1', NULL);
SELECT * FROM rag_claim_question('w1', '1 minute', retries => -1);
SELECT rag_extend_question_lease(:'q7', 'w1', '-1 minute');
SELECT rag_fail_question(:'q7', 'w1', '"just text"');
SELECT rag_fail_question(:'q7', 'w1', '{"message": "x"}', retry_delay => '-1 second');
\set VERBOSITY default

-- Counts by status, every status listed.
SELECT * FROM rag_question_counts();

-- Pruning: finished questions older than the retention go; queued and running ones never do.
SELECT rag_prune_questions('7 days') AS pruned_none;
UPDATE rag_questions SET finished_at = now() - interval '8 days' WHERE id IN (:'q1', :'q3');
UPDATE rag_questions SET created_at = now() - interval '30 days' WHERE id = :'q7';
SELECT rag_prune_questions('7 days') AS pruned;
SELECT rag_question(:'q1') IS NULL AS q1_gone, rag_question(:'q3') IS NULL AS q3_gone,
       rag_question(:'q2') IS NOT NULL AS q2_kept, rag_question(:'q7') ->> 'status' AS q7_still;
SELECT rag_prune_questions(NULL) AS null_retention;

-- Sessions idle longer than a time-to-live go, with their messages; the others stay.
SELECT rag_record_answer('queue-idle', 'old question', '{"answer": "old answer"}');
UPDATE rag_sessions SET updated_at = now() - interval '25 hours' WHERE id = 'queue-idle';
SELECT rag_prune_sessions('24 hours') AS pruned_sessions;
SELECT count(*) FILTER (WHERE session_id = 'queue-idle') AS idle_messages,
       count(*) FILTER (WHERE session_id = 'queue-session') AS active_messages FROM rag_messages;

-- Privileges, played by an attacker with no grants, by an asker granted the asker's functions and a
-- user's access, and by a second asker (another user: the first's questions are invisible to them).
SET client_min_messages = warning;
DROP ROLE IF EXISTS queue_attacker;
DROP ROLE IF EXISTS queue_asker;
DROP ROLE IF EXISTS queue_other;
RESET client_min_messages;
CREATE ROLE queue_attacker;
CREATE ROLE queue_asker;
CREATE ROLE queue_other;
SELECT rag_grant_user_access('queue_asker'), rag_grant_user_access('queue_other');
GRANT EXECUTE ON FUNCTION rag_enqueue_question(text, text, integer, text, jsonb), rag_question(uuid)
    TO queue_asker, queue_other;
SET ROLE queue_attacker;
SELECT rag_enqueue_question('injected');
SELECT rag_question(:'q2');
SELECT count(*) FROM rag_questions;
SELECT * FROM rag_claim_question('attacker', '1 minute');
SELECT rag_finish_question(:'q7', 'attacker', '{"answer": "forged"}');
SELECT rag_fail_question(:'q7', 'attacker', '{"message": "forged"}');
SELECT rag_prune_questions('0 seconds');
SELECT * FROM rag_question_counts();
UPDATE rag_questions SET status = 'done';
RESET ROLE;
SET ROLE queue_asker;
SELECT rag_enqueue_question('A question of the asker') AS q8 \gset
SELECT rag_question(:'q8') ->> 'status' AS status;
SELECT owner_id, tenant_id, status FROM rag_questions;  -- their own only
-- Queued as done, or as someone else's: refused by the policy (and the column grant).
INSERT INTO rag_questions (request, status, result) VALUES ('{}', 'done', '{"answer": "forged"}');
INSERT INTO rag_questions (request, owner_id) VALUES ('{"question": "x"}', 'queue_other');
SELECT * FROM rag_claim_question('asker', '1 minute');
SELECT rag_finish_question(:'q8', 'asker', '{"answer": "forged"}');
SELECT rag_release_question(:'q7', 'w1');
SELECT count(*) FROM rag_questions;
UPDATE rag_questions SET result = '{"answer": "forged"}';
DELETE FROM rag_questions;
RESET ROLE;
SET ROLE queue_other;
SELECT rag_question(:'q8') IS NULL AS not_visible, count(*) AS questions_seen FROM rag_questions;
RESET ROLE;
-- A worker answers the asker's question as the asker: the session turn is theirs.
DELETE FROM rag_questions WHERE id <> :'q8' AND status IN ('queued', 'running');
UPDATE rag_questions SET request = request || '{"session_id": "asker-session"}' WHERE id = :'q8';
SELECT id = :'q8' AS claimed, owner_id FROM rag_claim_question('w-asker', '1 minute');
SELECT rag_finish_question(:'q8', 'w-asker', '{"answer": "Done."}');
SELECT owner_id, role, content FROM rag_messages WHERE session_id = 'asker-session' ORDER BY id;
SELECT count(*) AS untouched FROM rag_questions WHERE result::text LIKE '%forged%';
-- No queue function is executable by PUBLIC, and every SECURITY DEFINER one has a fixed search_path.
SELECT count(*) AS queue_functions,
       count(*) FILTER (WHERE EXISTS (SELECT 1 FROM aclexplode(coalesce(p.proacl, acldefault('f', p.proowner))) a
                                      WHERE a.grantee = 0)) AS executable_by_public
  FROM pg_proc p
 WHERE p.proname IN ('rag_enqueue_question', 'rag_question', 'rag_claim_question', 'rag_extend_question_lease',
                     'rag_finish_question', 'rag_fail_question', 'rag_release_question', 'rag_prune_questions',
                     'rag_question_counts', 'rag_prune_all_sessions');
SELECT p.oid::regprocedure AS definer_without_search_path
  FROM pg_proc p WHERE p.proname LIKE 'rag\_%' AND p.prosecdef
   AND NOT coalesce(p.proconfig::text LIKE '%search_path%', false);
DROP ROLE queue_attacker;
REVOKE ALL ON FUNCTION rag_enqueue_question(text, text, integer, text, jsonb), rag_question(uuid)
    FROM queue_asker, queue_other;
DELETE FROM rag_sessions WHERE owner_id = 'queue_asker';
SELECT rag_revoke_user_access('queue_asker'), rag_revoke_user_access('queue_other');
DROP ROLE queue_asker;
DROP ROLE queue_other;
TRUNCATE rag_questions;

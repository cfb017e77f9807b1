-- The equivalence test, run on the single node (psql -v remote='host=... port=... dbname=kb user=postgres'):
-- the same question to both, every search mode, filters, the three kinds of caller and rag_answer.
-- Prints one line per check: PASS name or FAIL name (with what differed).
\set ON_ERROR_STOP 1
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS dblink;
SELECT dblink_connect('cluster', :'remote') AS connected \gset
SELECT set_config('pg_temp_remote.conninfo', :'remote', false) AS remote_set \gset

-- The result of a query on both sides as jsonb (the query yields one jsonb value).
CREATE FUNCTION pg_temp.here(q text) RETURNS jsonb LANGUAGE plpgsql AS $$
DECLARE r jsonb; BEGIN EXECUTE q INTO r; RETURN r; END $$;
CREATE FUNCTION pg_temp.there(q text) RETURNS jsonb LANGUAGE sql AS $$
  SELECT j FROM dblink('cluster', q) AS t(j jsonb)
$$;
-- Rows equal but for the scores, which must be equal (exact) or within 1e-9.
CREATE FUNCTION pg_temp.same(a jsonb, b jsonb, exact boolean) RETURNS boolean LANGUAGE sql AS $$
  SELECT jsonb_array_length(a) = jsonb_array_length(b) AND NOT EXISTS (
    SELECT 1 FROM jsonb_array_elements(a) WITH ORDINALITY x(e, i) JOIN jsonb_array_elements(b) WITH ORDINALITY y(e, i)
                  USING (i)
    WHERE (x.e - 'score') <> (y.e - 'score')
       OR CASE WHEN exact THEN (x.e ->> 'score')::float8 IS DISTINCT FROM (y.e ->> 'score')::float8
               ELSE abs((x.e ->> 'score')::float8 - (y.e ->> 'score')::float8) > 1e-9 END)
$$;
CREATE FUNCTION pg_temp.search_sql(q text, mode text, filter jsonb, k int) RETURNS text LANGUAGE sql AS $$
  SELECT format('SELECT coalesce(jsonb_agg(jsonb_build_object(''id'', chunk_id, ''doc'', document_id, ''title'', title,
                 ''source'', source, ''heading'', heading, ''content'', content, ''score'', score, ''vr'', vector_rank,
                 ''kr'', keyword_rank, ''metadata'', metadata) ORDER BY o), ''[]'')
                 FROM rag_search(%L, %s, %L, %L) WITH ORDINALITY r(chunk_id, document_id, title, source, content, heading,
                 score, vector_rank, keyword_rank, metadata, o)', q, k, mode, filter)
$$;

CREATE TEMP TABLE questions (q text);
INSERT INTO questions VALUES ('How long do refunds take?'), ('refund shipping'), ('battery w3 warranty'),
  ('password account support'), ('w17 w41 w2'), ('"refund policy"'), ('invoice -payment'), ('coupon or discount'),
  ('delivery of the order'), ('the and of'), ('zzzunknownword'), ('screen w1 w1 w1'), ('What does the guide say about installing?'),
  -- The distributed keyword search's rounds (distributed_keyword_top_k): at k 50 these take the second
  -- round without the common terms, and the full scoring when fewer than k chunks hold a rare term.
  ('refund shipping invoice warranty battery screen delivery return account password order payment discount coupon store support'),
  ('refund shipping invoice warranty battery screen delivery w397');
-- A role of their own, or a trusted role asserting the user (pg_rag.user_id, as the HTTP server does).
CREATE TEMP TABLE callers (who text, as_user text);
INSERT INTO callers VALUES ('postgres', NULL), ('rag_alice', NULL), ('rag_bob', NULL), ('rag_srv', 'rag_alice');
-- Becoming the caller (and back), here and there.
CREATE FUNCTION pg_temp.become(who text, as_user text) RETURNS void LANGUAGE plpgsql AS $$
DECLARE cmds text[] := ARRAY[format('SET ROLE %I', who)]
                       || CASE WHEN as_user IS NOT NULL THEN ARRAY[format('SET pg_rag.user_id = %L', as_user)] ELSE '{}' END;
        cmd text;
BEGIN
  FOREACH cmd IN ARRAY cmds LOOP EXECUTE cmd; PERFORM dblink_exec('cluster', cmd); END LOOP;
END $$;
CREATE FUNCTION pg_temp.unbecome() RETURNS void LANGUAGE plpgsql AS $$
DECLARE cmd text;
BEGIN
  FOREACH cmd IN ARRAY ARRAY['RESET ROLE', 'RESET pg_rag.user_id'] LOOP EXECUTE cmd; PERFORM dblink_exec('cluster', cmd); END LOOP;
END $$;
CREATE TEMP TABLE filters (f jsonb);
INSERT INTO filters VALUES (NULL), ('{"group": 1}'), ('{"lang": "fr"}');

CREATE TEMP TABLE results (name text, ok boolean, detail text);

-- The knowledge bases themselves are identical: every document and chunk, ids included.
INSERT INTO results
SELECT 'identical knowledge base (' || t || ')', a = b, CASE WHEN a <> b THEN a || ' vs ' || b END
FROM (VALUES ('documents', 'SELECT to_jsonb(md5(string_agg(concat_ws(''|'', id, title, source, mime, content_hash, metadata, content, chunking, owner_id, tenant_id), '','' ORDER BY id))) FROM rag_documents'),
             ('chunks', 'SELECT to_jsonb(md5(string_agg(concat_ws(''|'', id, document_id, seq, content, char_start, char_end, heading, embedding::text, embedding_model, tsv::text, token_count, owner_id, tenant_id), '','' ORDER BY id))) FROM rag_chunks'))
     v(t, q), LATERAL (SELECT pg_temp.here(v.q)::text AS a, pg_temp.there(v.q)::text AS b) x;

-- Every search mode, filter and caller.
DO $$
DECLARE c record; m text; here_r jsonb; there_r jsonb; k int;
BEGIN
  FOR c IN SELECT * FROM callers, questions, filters LOOP
    FOREACH m IN ARRAY ARRAY['vector', 'keyword', 'hybrid'] LOOP
      k := CASE WHEN c.q LIKE 'w17%' OR c.q LIKE 'refund shipping invoice%' THEN 50 ELSE 10 END;
      PERFORM pg_temp.become(c.who, c.as_user);
      here_r := pg_temp.here(pg_temp.search_sql(c.q, m, c.f, k));
      there_r := pg_temp.there(pg_temp.search_sql(c.q, m, c.f, k));
      PERFORM pg_temp.unbecome();
      INSERT INTO results VALUES (format('%s%s %s %s filter %s', c.who, coalesce(' as ' || c.as_user, ''), m, quote_literal(c.q), coalesce(c.f::text, 'none')),
                                  pg_temp.same(here_r, there_r, m = 'vector'),
                                  CASE WHEN NOT pg_temp.same(here_r, there_r, m = 'vector')
                                       THEN left(here_r::text, 300) || ' <> ' || left(there_r::text, 300) END);
    END LOOP;
  END LOOP;
END $$;

-- The same search by embedding.
INSERT INTO results
SELECT 'search by embedding ' || quote_literal(q), pg_temp.same(a, b, true), NULL
FROM questions, LATERAL (SELECT format('SELECT coalesce(jsonb_agg(jsonb_build_object(''id'', chunk_id, ''score'', score) ORDER BY o), ''[]'')
                                        FROM rag_search(rag_embed(%L), 7) WITH ORDINALITY r(chunk_id, d, t, s, c, h, score, vr, kr, m, o)', q) AS sql) s,
     LATERAL (SELECT pg_temp.here(s.sql) AS a, pg_temp.there(s.sql) AS b) x
WHERE q NOT IN ('the and of');

-- rag_answer: the same answer, sources and citations (but for its latency), for each kind of caller.
DO $$
DECLARE c record; a jsonb; b jsonb; sql text;
BEGIN
  FOR c IN SELECT * FROM callers, (SELECT q FROM questions LIMIT 5) qs LOOP
    sql := format('SELECT rag_answer(%L) - ''latency_ms''', c.q);
    PERFORM pg_temp.become(c.who, c.as_user);
    a := pg_temp.here(sql);
    b := pg_temp.there(sql);
    PERFORM pg_temp.unbecome();
    INSERT INTO results VALUES (format('rag_answer by %s%s %s', c.who, coalesce(' as ' || c.as_user, ''), quote_literal(c.q)), a = b,
                                CASE WHEN a <> b THEN left(a::text, 300) || ' <> ' || left(b::text, 300) END);
  END LOOP;
END $$;

-- What each caller may read directly (row-level security on the distributed tables): the rows here
-- as that role, and there through a connection of that role to the coordinator.
DO $$
DECLARE c record; t text; a jsonb; b jsonb; sql text;
BEGIN
  FOR c IN SELECT * FROM callers WHERE as_user IS NULL LOOP
    FOREACH t IN ARRAY ARRAY['rag_documents', 'rag_chunks'] LOOP
      sql := format('SELECT to_jsonb(array_agg(id ORDER BY id)) FROM %I', t);
      EXECUTE format('SET ROLE %I', c.who);
      a := pg_temp.here(sql);
      RESET ROLE;
      SELECT j INTO b FROM dblink(replace(current_setting('pg_temp_remote.conninfo'), 'user=postgres', 'user=' || c.who), sql)
        AS x(j jsonb);
      INSERT INTO results VALUES (format('row-level security: %s reads the same rows of %s', c.who, t), a = b,
                                  CASE WHEN a <> b THEN jsonb_array_length(a) || ' rows vs ' || jsonb_array_length(b) END);
    END LOOP;
  END LOOP;
END $$;

SELECT CASE WHEN ok THEN 'PASS ' ELSE 'FAIL ' END || name || coalesce(CASE WHEN NOT ok THEN ': ' || detail END, '')
FROM results ORDER BY ok, name;

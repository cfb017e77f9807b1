-- pg_rag 0.8.0: search at scale. Sections, one per concern (keep them apart: several people edit this
-- file). Every change here goes into pg_rag--0.8.0.sql too.
\echo Use "ALTER EXTENSION pg_rag UPDATE TO '0.8.0'" to load this file. \quit

-- == Shared search copies and the approximate index ==============================================

-- This backend's copies of the knowledge base: state ('not loaded', 'shared': a base file mapped by
-- every backend plus a private overlay, 'in memory': private, 'over cap'), chunks the caller may see,
-- full loads and incremental catch-ups so far, and of a shared copy its generation and the caller's
-- visible rows in the base and in the overlay.
DROP FUNCTION rag_search_copies();
CREATE FUNCTION rag_search_copies(OUT copy text, OUT state text, OUT chunks bigint, OUT reloads bigint,
                                  OUT updates bigint, OUT generation bigint, OUT base_rows bigint,
                                  OUT overlay_rows bigint) RETURNS SETOF record
    AS 'MODULE_PATHNAME', 'rag_search_copies' LANGUAGE C VOLATILE PARALLEL RESTRICTED ROWS 2;

-- Rebuilds the shared search copies that are stale (their change log was pruned past them, or their
-- overlay outgrew 10% of them) or, with force, all of them: files under the data directory's
-- pg_rag/<database oid>/. Must run on its own in a READ COMMITTED transaction (copies hold committed
-- data only); pg_rag_server's maintenance loop calls it.
CREATE FUNCTION rag_refresh_search_copies(force boolean DEFAULT false)
RETURNS TABLE (copy text, dims integer, generation bigint, chunks bigint, indexed boolean, rebuilt boolean)
    AS 'MODULE_PATHNAME', 'rag_refresh_search_copies' LANGUAGE C VOLATILE PARALLEL UNSAFE;

-- How rag_search_vector (and so rag_search) would search for this query now: the path ('exact',
-- 'approximate', 'exact (filter fallback)', 'exact (private copy)', 'exact (table scan)'), the lists the
-- approximate index probed and the candidates it re-ranked, the base and overlay rows the caller may
-- see and the shared copy's generation.
CREATE FUNCTION rag_search_plan(query_embedding embedding, k integer DEFAULT 10, filter jsonb DEFAULT NULL,
                                model text DEFAULT NULL)
RETURNS TABLE (path text, probes integer, candidates bigint, base_rows bigint, overlay_rows bigint,
               generation bigint)
    AS 'MODULE_PATHNAME', 'rag_search_plan' LANGUAGE C VOLATILE PARALLEL RESTRICTED ROWS 1;

-- == Distributed with Citus: new functions, and the writers and searches that run on a coordinator ==

-- True when rag_chunks is a Citus distributed table (false without Citus): the search then runs as
-- per-shard queries merged on the coordinator, and the writers do what the triggers Citus cannot run do.
CREATE OR REPLACE FUNCTION rag_knowledge_base_distributed() RETURNS boolean
LANGUAGE plpgsql STABLE PARALLEL SAFE SET search_path = pg_catalog, pg_temp AS $$
DECLARE answer boolean;
BEGIN
    IF to_regclass('pg_catalog.pg_dist_partition') IS NULL THEN
        RETURN false;
    END IF;
    EXECUTE 'SELECT EXISTS (SELECT 1 FROM pg_catalog.pg_dist_partition WHERE logicalrelid = $1)'
        INTO answer USING (SELECT c.oid FROM pg_class c JOIN pg_extension e ON e.extnamespace = c.relnamespace
                            WHERE e.extname = 'pg_rag' AND c.relname = 'rag_chunks');
    RETURN answer;
END $$;

-- The identity a trusted role asserted for this session (pg_rag.user_id, pg_rag.tenant_id,
-- pg_rag.user_admin: the HTTP server's per-caller settings) is a setting of the coordinator's session,
-- which the workers' policies cannot see. When the knowledge base is distributed, this repeats it as
-- SET LOCAL, which Citus (citus.propagate_set_commands = local) sends to every worker connection of the
-- transaction: the shards' policies then check the same caller. The role needs SET on those settings on
-- the workers too (README, "Distributed with Citus"). No SET clause: the SET LOCALs must outlive the call.
CREATE OR REPLACE FUNCTION rag_propagate_identity() RETURNS void LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE AS $$
DECLARE setting text;
BEGIN
    IF coalesce(current_setting('pg_rag.user_id', true), '') = '' AND coalesce(current_setting('pg_rag.tenant_id', true), '') = ''
       AND coalesce(current_setting('pg_rag.user_admin', true), 'off') = 'off' THEN
        RETURN;   -- nothing asserted: the workers see the same role, hence the same caller
    END IF;
    IF NOT @extschema@.rag_knowledge_base_distributed() THEN
        RETURN;
    END IF;
    SET LOCAL citus.propagate_set_commands = 'local';
    FOREACH setting IN ARRAY ARRAY['pg_rag.user_id', 'pg_rag.tenant_id', 'pg_rag.user_admin'] LOOP
        IF coalesce(current_setting(setting, true), '') NOT IN ('', 'off') THEN
            EXECUTE format('SET LOCAL %s = %L', setting, current_setting(setting));
        END IF;
    END LOOP;
    -- Citus sends SET LOCALs with the BEGIN of a remote transaction, and reads outside a transaction
    -- block open none: a row lock (of no row, on one shard) makes this a coordinated transaction.
    PERFORM 1 FROM @extschema@.rag_documents d WHERE d.id = 0 FOR UPDATE;
END $$;

-- BM25 of a chunk's tsvector against the query's terms with their corpus-wide idf (computed on the
-- coordinator from statistics gathered across shards), k1, b and the corpus' average length: the
-- expression of rag_bm25, term by term, so that every shard scores as one node would.
CREATE OR REPLACE FUNCTION rag_bm25_score(tsv tsvector, token_count integer, terms text[], idf double precision[],
                                          k1 double precision, b double precision, avgdl double precision)
RETURNS double precision AS 'MODULE_PATHNAME', 'rag_bm25_score' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

-- rag_ingest_document as in 0.7.0, with two changes that let it run on a Citus coordinator (and change
-- nothing on one node): the chunks get their document's owner and tenant in the INSERT (on shards no
-- trigger may read rag_documents), and a source's document is found under an advisory lock on
-- (source, owner, tenant) instead of FOR UPDATE and the unique index (Citus allows neither across shards).
CREATE OR REPLACE FUNCTION rag_ingest_document(owner_id text, tenant_id text, title text, content text,
                                    metadata jsonb DEFAULT '{}', source text DEFAULT NULL,
                                    max_chars integer DEFAULT 1000, overlap integer DEFAULT NULL,
                                    strategy text DEFAULT 'recursive', mime text DEFAULT 'text/plain')
RETURNS bigint LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE AS $$
DECLARE
    doc_id bigint;
    old record;
    hash bytea;
    options jsonb;
    model text;
    config regconfig;
    seqs integer[]; texts text[]; starts integer[]; ends integer[]; headings text[];
    embeddings @extschema@.embedding[];
    missing text[];
    fresh @extschema@.embedding[];
    distributed boolean := @extschema@.rag_knowledge_base_distributed();
BEGIN
    IF content IS NULL THEN
        RAISE EXCEPTION 'rag_ingest: content must not be NULL' USING ERRCODE = 'null_value_not_allowed';
    END IF;
    IF row_security_active('@extschema@.rag_documents') AND NOT @extschema@.rag_may_write(owner_id, tenant_id) THEN
        RAISE EXCEPTION 'rag_ingest: permission denied to add documents of %',
            coalesce('user ' || quote_literal(owner_id), 'the shared knowledge base')
              || coalesce(' in tenant ' || quote_literal(tenant_id), '')
            USING ERRCODE = 'insufficient_privilege',
                  HINT = 'Users add documents of their own, in their tenant; admins may add shared ones.';
    END IF;
    SELECT array_agg(c.seq ORDER BY c.seq), array_agg(c.content ORDER BY c.seq), array_agg(c.char_start ORDER BY c.seq),
           array_agg(c.char_end ORDER BY c.seq), array_agg(c.heading ORDER BY c.seq)
      INTO seqs, texts, starts, ends, headings
      FROM @extschema@.rag_chunk(content, max_chars, overlap, strategy) c;   -- validates the options first
    model := @extschema@.rag_embedding_model();
    config := @extschema@.rag_setting('pg_rag.text_search_config')::regconfig;
    hash := sha256(convert_to(content, 'UTF8'));
    options := jsonb_build_object('max_chars', coalesce(max_chars, 1000), 'overlap', overlap,
                                  'strategy', coalesce(strategy, 'recursive'));
    metadata := @extschema@.rag_check_metadata(metadata, 'rag_ingest');
    PERFORM @extschema@.rag_propagate_identity();

    IF source IS NOT NULL AND distributed THEN
        -- One ingest of a source at a time (every write goes through the coordinator).
        PERFORM pg_advisory_xact_lock(hashtextextended(
            concat_ws(chr(31), source, coalesce(owner_id, chr(30)), coalesce(tenant_id, chr(30))), 1414));
        SELECT d.id, d.content_hash, d.chunking, d.title, d.metadata, d.mime INTO old
          FROM @extschema@.rag_documents d
         WHERE d.source = rag_ingest_document.source AND d.owner_id IS NOT DISTINCT FROM rag_ingest_document.owner_id
           AND d.tenant_id IS NOT DISTINCT FROM rag_ingest_document.tenant_id;
    ELSE
        -- Also without a source (then no row matches): the test below needs `old` assigned.
        SELECT d.id, d.content_hash, d.chunking, d.title, d.metadata, d.mime INTO old
          FROM @extschema@.rag_documents d
         WHERE d.source = rag_ingest_document.source AND d.owner_id IS NOT DISTINCT FROM rag_ingest_document.owner_id
           AND d.tenant_id IS NOT DISTINCT FROM rag_ingest_document.tenant_id
           FOR UPDATE;
    END IF;
    doc_id := old.id;
    IF doc_id IS NOT NULL AND old.content_hash = hash AND old.chunking = options
       AND NOT EXISTS (SELECT 1 FROM @extschema@.rag_chunks c
                       WHERE c.document_id = doc_id AND c.embedding_model IS DISTINCT FROM model) THEN
        IF old.title IS DISTINCT FROM title OR old.metadata <> metadata OR old.mime <> mime THEN
            UPDATE @extschema@.rag_documents d SET title = rag_ingest_document.title, metadata = rag_ingest_document.metadata,
                   mime = rag_ingest_document.mime, updated_at = now() WHERE d.id = doc_id;
        END IF;
        RETURN doc_id;   -- nothing to chunk or embed
    END IF;

    -- Embeddings of unchanged chunk texts are reused; only new texts go to the provider.
    SELECT array_agg(o.embedding ORDER BY t.i) INTO embeddings
      FROM unnest(texts) WITH ORDINALITY t(body, i)
      LEFT JOIN (SELECT DISTINCT ON (c.content) c.content, c.embedding FROM @extschema@.rag_chunks c
                  WHERE doc_id IS NOT NULL AND c.document_id = doc_id AND c.embedding_model = model
                    AND c.embedding IS NOT NULL
                  ORDER BY c.content, c.id) o ON o.content = t.body;
    missing := ARRAY(SELECT DISTINCT t.body FROM unnest(texts, embeddings) t(body, e) WHERE t.e IS NULL ORDER BY 1);
    IF cardinality(missing) > 0 THEN
        fresh := @extschema@.rag_embed(missing);
        SELECT array_agg(coalesce(t.e, m.e) ORDER BY t.i) INTO embeddings
          FROM unnest(texts, embeddings) WITH ORDINALITY t(body, e, i)
          LEFT JOIN unnest(missing, fresh) m(body, e) ON m.body = t.body;
    END IF;

    IF doc_id IS NULL THEN
        INSERT INTO @extschema@.rag_documents (title, source, mime, content_hash, metadata, content, chunking,
                                               owner_id, tenant_id)
        VALUES (title, source, mime, hash, metadata, content, options, owner_id, tenant_id) RETURNING id INTO doc_id;
    ELSE
        UPDATE @extschema@.rag_documents d SET title = rag_ingest_document.title, mime = rag_ingest_document.mime, content_hash = hash,
               metadata = rag_ingest_document.metadata, content = rag_ingest_document.content, chunking = options, updated_at = now()
         WHERE d.id = doc_id;
        DELETE FROM @extschema@.rag_chunks c WHERE c.document_id = doc_id;
    END IF;
    IF distributed THEN
        -- Row by row (one shard, one connection): Citus would COPY an INSERT ... SELECT to the shards,
        -- which row-level security refuses for the users.
        FOR i IN 1 .. coalesce(cardinality(seqs), 0) LOOP
            INSERT INTO @extschema@.rag_chunks (document_id, seq, content, char_start, char_end, heading, embedding,
                                           embedding_model, tsv, owner_id, tenant_id)
            VALUES (doc_id, seqs[i], texts[i], starts[i], ends[i], headings[i], embeddings[i], model,
                    setweight(to_tsvector(config, coalesce(title, '') || ' ' || coalesce(headings[i], '')), 'A')
                      || to_tsvector(config, texts[i]),
                    rag_ingest_document.owner_id, rag_ingest_document.tenant_id);
        END LOOP;
        RETURN doc_id;
    END IF;
    INSERT INTO @extschema@.rag_chunks (document_id, seq, content, char_start, char_end, heading, embedding,
                                        embedding_model, tsv, owner_id, tenant_id)
    SELECT doc_id, u.seq, u.body, u.s, u.e, u.heading, u.emb, model,
           setweight(to_tsvector(config, coalesce(title, '') || ' ' || coalesce(u.heading, '')), 'A')
             || to_tsvector(config, u.body),
           rag_ingest_document.owner_id, rag_ingest_document.tenant_id
      FROM unnest(seqs, texts, starts, ends, headings, embeddings) u(seq, body, s, e, heading, emb);
    RETURN doc_id;
END $$;

-- The 0.7.0 rag_kb_version() of this node's own change log.
CREATE OR REPLACE FUNCTION rag_kb_local_version() RETURNS text LANGUAGE sql STABLE PARALLEL SAFE SECURITY DEFINER
SET search_path = @extschema@, pg_catalog, pg_temp AS $$
    SELECT count(*)::text || ':' || coalesce(sum(id), 0)::text FROM @extschema@.rag_kb_changes
$$;

-- As in 0.7.0 on one node. Distributed, the change-log triggers run on the shards and write each
-- worker's rag_kb_changes: on the coordinator the version is its own with every worker's (read
-- committed, over Citus' own connections: a transaction's uncommitted writes change it at commit).
-- Parallel restricted: distributed, it asks the workers.
CREATE OR REPLACE FUNCTION rag_kb_version() RETURNS text LANGUAGE plpgsql STABLE PARALLEL RESTRICTED SECURITY DEFINER
SET search_path = @extschema@, pg_catalog, pg_temp AS $$
DECLARE here text := @extschema@.rag_kb_local_version();
        there text;
BEGIN
    IF NOT @extschema@.rag_knowledge_base_distributed() THEN
        RETURN here;
    END IF;
    EXECUTE $q$SELECT string_agg(r.nodename || ':' || r.nodeport || '=' || r.result, ',' ORDER BY r.nodename, r.nodeport)
               FROM run_command_on_workers('SELECT @extschema@.rag_kb_local_version()') r$q$ INTO there;
    RETURN here || ';' || coalesce(there, '');
END $$;

-- Distributes the knowledge base over the Citus cluster: documents and their chunks hash-distributed
-- by document and co-located (a document's chunks are on its shard; the cascade from documents to
-- chunks, ingestion and deletion are single-shard), everything else left on the coordinator (sessions,
-- messages, the answer and embedding caches, provider keys, API keys, usage, the queue: per-request
-- tables the coordinator's functions read; provider keys are never copied to the workers).
-- Run once on the coordinator, as a superuser, with the workers added (citus_add_node) and pg_rag
-- installed on them (CREATE EXTENSION on the coordinator does that when the workers are already added).
-- Returns the number of shards of rag_chunks.
CREATE OR REPLACE FUNCTION rag_distribute(shard_count integer DEFAULT 32, by text DEFAULT 'document')
RETURNS integer LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE SET search_path = @extschema@, pg_catalog, pg_temp AS $$
DECLARE
    shards integer;
    tbl text;
    -- The policies' rules of 0.7.0 (section "Row-level security" there).
    readable text := '(owner_id IS NULL OR owner_id = @extschema@.rag_current_user()) '
                     'AND (tenant_id IS NULL OR tenant_id = @extschema@.rag_current_tenant())';
    writable text := '(owner_id = @extschema@.rag_current_user() OR (owner_id IS NULL AND @extschema@.rag_is_admin())) '
                     'AND tenant_id IS NOT DISTINCT FROM @extschema@.rag_current_tenant()';
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'citus') THEN
        RAISE EXCEPTION 'rag_distribute: the citus extension is not installed' USING ERRCODE = 'feature_not_supported',
            HINT = 'CREATE EXTENSION citus on the coordinator first (shared_preload_libraries = ''citus,pg_rag'').';
    END IF;
    IF NOT (SELECT rolsuper FROM pg_roles WHERE oid = current_user::regrole) THEN
        RAISE EXCEPTION 'rag_distribute: permission denied' USING ERRCODE = 'insufficient_privilege',
            HINT = 'Only a superuser may distribute the knowledge base.';
    END IF;
    IF by IS DISTINCT FROM 'document' THEN
        RAISE EXCEPTION 'rag_distribute: unknown distribution "%"', by USING ERRCODE = 'invalid_parameter_value',
            HINT = 'by => ''document'' is supported (see the README, "Distributed with Citus").';
    END IF;
    IF shard_count IS NULL OR shard_count < 1 OR shard_count > 4096 THEN
        RAISE EXCEPTION 'rag_distribute: shard_count must be between 1 and 4096' USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF @extschema@.rag_knowledge_base_distributed() THEN
        RETURN (SELECT count(*) FROM pg_dist_shard WHERE logicalrelid = '@extschema@.rag_chunks'::regclass);
    END IF;

    -- Citus supports no transition-table triggers on distributed tables: the change log that keeps the
    -- per-backend copies in step (rag_chunk_changes) stops; rag_search then runs per shard, and a direct
    -- rag_bm25 / rag_search_vector reloads its copy at every call (the log counts as pruned forever).
    DROP TRIGGER IF EXISTS rag_log_chunk_insert ON @extschema@.rag_chunks;
    DROP TRIGGER IF EXISTS rag_log_chunk_update ON @extschema@.rag_chunks;
    DROP TRIGGER IF EXISTS rag_log_chunk_delete ON @extschema@.rag_chunks;
    DROP TRIGGER IF EXISTS rag_log_chunk_truncate ON @extschema@.rag_chunks;
    UPDATE @extschema@.rag_chunk_changes_horizon SET pruned_before = '18446744073709551615';
    DELETE FROM @extschema@.rag_chunk_changes;
    -- On a shard no trigger may query another distributed table: the chunks' owner comes from the
    -- writer (rag_ingest_document); a document's change of owner is applied to its chunks by the writer.
    DROP TRIGGER IF EXISTS rag_chunk_owner ON @extschema@.rag_chunks;
    DROP TRIGGER IF EXISTS rag_document_owner_changed ON @extschema@.rag_documents;
    -- Unique constraints must include the distribution column: the chunk key becomes (id, document_id)
    -- (lookups by id still use it), and a source's uniqueness per owner and tenant is upheld by
    -- rag_ingest_document's advisory lock (a plain index keeps the lookups fast).
    ALTER TABLE @extschema@.rag_chunks DROP CONSTRAINT rag_chunks_pkey;
    ALTER TABLE @extschema@.rag_chunks ADD CONSTRAINT rag_chunks_pkey PRIMARY KEY (id, document_id);
    DROP INDEX @extschema@.rag_documents_source_key;
    CREATE INDEX rag_documents_source_idx ON @extschema@.rag_documents (source, owner_id, tenant_id) WHERE source IS NOT NULL;

    -- Citus propagates the row-level security policies to the shards but refuses sub-selects in them:
    -- the same rules, with the identity functions called directly (per row, on the workers).
    FOREACH tbl IN ARRAY ARRAY['rag_documents', 'rag_chunks'] LOOP
        EXECUTE format('DROP POLICY rag_read ON @extschema@.%I', tbl);
        EXECUTE format('DROP POLICY rag_insert ON @extschema@.%I', tbl);
        EXECUTE format('DROP POLICY rag_update ON @extschema@.%I', tbl);
        EXECUTE format('DROP POLICY rag_delete ON @extschema@.%I', tbl);
        EXECUTE format('CREATE POLICY rag_read ON @extschema@.%I FOR SELECT USING (%s)', tbl, readable);
        EXECUTE format('CREATE POLICY rag_insert ON @extschema@.%I FOR INSERT WITH CHECK (%s)', tbl, writable);
        EXECUTE format('CREATE POLICY rag_update ON @extschema@.%I FOR UPDATE USING (%s) WITH CHECK (%2$s)', tbl, writable);
        EXECUTE format('CREATE POLICY rag_delete ON @extschema@.%I FOR DELETE USING (%s)', tbl, writable);
    END LOOP;

    -- The remaining triggers (token counts, the statement-level change notes) are row-local: they run
    -- on the shards.
    SET LOCAL citus.enable_unsafe_triggers = on;
    PERFORM create_distributed_table('@extschema@.rag_documents', 'id', shard_count => rag_distribute.shard_count);
    PERFORM create_distributed_table('@extschema@.rag_chunks', 'document_id', colocate_with => '@extschema@.rag_documents');
    -- An existing knowledge base was copied to the shards: the coordinator's copy is only taking space.
    PERFORM truncate_local_data_after_distributing_table('@extschema@.rag_chunks');
    PERFORM truncate_local_data_after_distributing_table('@extschema@.rag_documents');
    SELECT count(*) INTO shards FROM pg_dist_shard WHERE logicalrelid = '@extschema@.rag_chunks'::regclass;
    RETURN shards;
END $$;

-- Citus plans no distributed query inside an SQL function with parameters: rag_delete_document and
-- both rag_search as PL/pgSQL, with the same statements, results and markings (and the same on one node).
CREATE OR REPLACE FUNCTION rag_delete_document(id bigint) RETURNS boolean
LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE AS $$
DECLARE gone bigint;
BEGIN
    PERFORM @extschema@.rag_propagate_identity();
    DELETE FROM @extschema@.rag_documents d WHERE d.id = rag_delete_document.id;
    GET DIAGNOSTICS gone = ROW_COUNT;
    RETURN gone > 0;
END $$;

CREATE OR REPLACE FUNCTION rag_search(query text, k integer DEFAULT 5, mode text DEFAULT 'hybrid', filter jsonb DEFAULT NULL)
RETURNS TABLE (chunk_id bigint, document_id bigint, title text, source text, content text, heading text,
               score double precision, vector_rank integer, keyword_rank integer, metadata jsonb)
LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE AS $$
#variable_conflict use_column
DECLARE ids bigint[]; scores double precision[]; vector_ranks integer[]; keyword_ranks integer[];
BEGIN
    PERFORM @extschema@.rag_propagate_identity();   -- first: before any query reaches a worker
    -- Ranked first, here (in a join, Citus would push the call down to every shard).
    SELECT array_agg(r.chunk_id ORDER BY r.ord), array_agg(r.score ORDER BY r.ord),
           array_agg(r.vector_rank ORDER BY r.ord), array_agg(r.keyword_rank ORDER BY r.ord)
      INTO ids, scores, vector_ranks, keyword_ranks
      FROM @extschema@.rag_search_ranked(rag_search.query, NULL, rag_search.k, rag_search.mode, rag_search.filter)
           WITH ORDINALITY r(chunk_id, score, vector_rank, keyword_rank, ord);
    -- The rows by id, the ranking's columns picked by position (no join with a function: Citus pushes
    -- this down to the shards as it is, and orders the few rows on the coordinator).
    RETURN QUERY
    SELECT c.id, c.document_id, d.title, d.source, c.content, c.heading, scores[array_position(ids, c.id)],
           vector_ranks[array_position(ids, c.id)], keyword_ranks[array_position(ids, c.id)], d.metadata
    FROM @extschema@.rag_chunks c JOIN @extschema@.rag_documents d ON d.id = c.document_id
    WHERE c.id = ANY (ids)
    ORDER BY array_position(ids, c.id);
END $$;

CREATE OR REPLACE FUNCTION rag_search(query_embedding embedding, k integer DEFAULT 5, filter jsonb DEFAULT NULL)
RETURNS TABLE (chunk_id bigint, document_id bigint, title text, source text, content text, heading text,
               score double precision, vector_rank integer, keyword_rank integer, metadata jsonb)
LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE AS $$
#variable_conflict use_column
DECLARE ids bigint[]; scores double precision[]; vector_ranks integer[]; keyword_ranks integer[];
BEGIN
    PERFORM @extschema@.rag_propagate_identity();   -- first: before any query reaches a worker
    -- Ranked first, here (in a join, Citus would push the call down to every shard).
    SELECT array_agg(r.chunk_id ORDER BY r.ord), array_agg(r.score ORDER BY r.ord),
           array_agg(r.vector_rank ORDER BY r.ord), array_agg(r.keyword_rank ORDER BY r.ord)
      INTO ids, scores, vector_ranks, keyword_ranks
      FROM @extschema@.rag_search_ranked(NULL, rag_search.query_embedding, rag_search.k, 'vector', rag_search.filter)
           WITH ORDINALITY r(chunk_id, score, vector_rank, keyword_rank, ord);
    -- The rows by id, the ranking's columns picked by position (no join with a function: Citus pushes
    -- this down to the shards as it is, and orders the few rows on the coordinator).
    RETURN QUERY
    SELECT c.id, c.document_id, d.title, d.source, c.content, c.heading, scores[array_position(ids, c.id)],
           vector_ranks[array_position(ids, c.id)], keyword_ranks[array_position(ids, c.id)], d.metadata
    FROM @extschema@.rag_chunks c JOIN @extschema@.rag_documents d ON d.id = c.document_id
    WHERE c.id = ANY (ids)
    ORDER BY array_position(ids, c.id);
END $$;

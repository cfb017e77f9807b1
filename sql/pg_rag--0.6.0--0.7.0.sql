-- pg_rag 0.7.0: the HTTP server's database side. Sections, one per concern (keep them apart: several
-- people edit this file). Every change here goes into pg_rag--0.7.0.sql too.
\echo Use "ALTER EXTENSION pg_rag UPDATE TO '0.7.0'" to load this file. \quit

-- == The HTTP server's provider credentials =====================================================

-- The chat providers with the keys bound to their URLs, for pg_rag_server to stream with: secrets, so
-- nobody may call it but superusers and the roles an administrator grants it to (the server's role).
CREATE FUNCTION rag_chat_provider_credentials() RETURNS jsonb
    AS 'MODULE_PATHNAME', 'rag_chat_provider_credentials' LANGUAGE C VOLATILE PARALLEL UNSAFE;
REVOKE ALL ON FUNCTION rag_chat_provider_credentials() FROM PUBLIC;
COMMENT ON FUNCTION rag_chat_provider_credentials() IS
    'The chat providers with their bound API keys, for pg_rag_server: GRANT EXECUTE to the server''s role only.';

-- == The answer cache in two steps (streamed answers of the server use it too) ====================

-- The answer cache's two steps, shared by rag_answer and the HTTP server's streamed answers: the answer
-- cached for a question asked without a session (NULL on a miss, or when pg_rag.answer_cache is off)...
CREATE FUNCTION rag_cached_answer(question text, k integer DEFAULT 5, mode text DEFAULT 'hybrid',
                                  filter jsonb DEFAULT NULL)
RETURNS jsonb LANGUAGE plpgsql STABLE PARALLEL SAFE AS $$
BEGIN
    -- Off: the table is not even read (a role may use rag_answer without any right on the cache).
    IF NOT @extschema@.rag_setting('pg_rag.answer_cache')::boolean THEN
        RETURN NULL;
    END IF;
    RETURN (SELECT c.answer || jsonb_build_object('cached', true)
            FROM @extschema@.rag_answer_cache c
            WHERE c.key = @extschema@.rag_answer_cache_key(rag_cached_answer.question, rag_cached_answer.k,
                                                           rag_cached_answer.mode, rag_cached_answer.filter)
              AND c.kb_version = @extschema@.rag_kb_version());
END $$;

-- ...and keeping a new one (a no-op when pg_rag.answer_cache is off).
CREATE FUNCTION rag_cache_answer(question text, k integer, mode text, filter jsonb, answer jsonb)
RETURNS void LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE AS $$
DECLARE
    version text := @extschema@.rag_kb_version();
BEGIN
    IF question IS NULL OR answer IS NULL OR NOT @extschema@.rag_setting('pg_rag.answer_cache')::boolean THEN
        RETURN;
    END IF;
    -- Answers of older states are never served: drop them once per change of the knowledge base (the
    -- newest entry tells, through the created_at index), not with a scan on every answer.
    IF (SELECT c.kb_version FROM @extschema@.rag_answer_cache c ORDER BY c.created_at DESC LIMIT 1)
       IS DISTINCT FROM version THEN
        DELETE FROM @extschema@.rag_answer_cache c WHERE c.kb_version <> version;
    END IF;
    INSERT INTO @extschema@.rag_answer_cache (key, kb_version, question, answer)
    VALUES (@extschema@.rag_answer_cache_key(question, k, mode, filter), version, question,
            answer - 'cached' - 'latency_ms')
    ON CONFLICT (key) DO UPDATE SET kb_version = EXCLUDED.kb_version, answer = EXCLUDED.answer, created_at = now();
END $$;

-- rag_answer uses these two steps: redefined once, with the per-user changes, in "Users and tenants" below.

-- == Users and tenants: per-user visibility enforced by Postgres (issue #10) ==================

-- Everything below is as in pg_rag--0.7.0.sql: the identity functions, the ownership columns and their
-- triggers, ingestion and syncing for an owner, sessions per user, and the row-level security policies.
-- == Who is calling ===============================================================================

-- The identity the row-level security policies check: pg_rag.user_id and pg_rag.tenant_id, which only
-- superusers and roles granted SET ON PARAMETER may set (the HTTP server's role, per transaction with
-- set_config(..., true)), else the current role's name (a plain SQL role is the user of that name) and
-- no tenant. C functions: calling one loads the library, whose definition of those settings throws
-- away a value an unprivileged role set as a placeholder before it was loaded.
CREATE FUNCTION rag_current_user() RETURNS text
    AS 'MODULE_PATHNAME', 'rag_current_user' LANGUAGE C STABLE PARALLEL SAFE;
CREATE FUNCTION rag_current_tenant() RETURNS text
    AS 'MODULE_PATHNAME', 'rag_current_tenant' LANGUAGE C STABLE PARALLEL SAFE;
-- May write the shared knowledge base: pg_rag.user_admin, or a superuser.
CREATE FUNCTION rag_is_admin() RETURNS boolean
    AS 'MODULE_PATHNAME', 'rag_is_admin' LANGUAGE C STABLE PARALLEL SAFE;

-- The write rule of the policies (section "Row-level security"), for checks with a clear message: one's
-- own rows, or the shared knowledge base's for an admin, of one's tenant (none: NULL).
CREATE FUNCTION rag_may_write(owner_id text, tenant_id text) RETURNS boolean
LANGUAGE sql STABLE PARALLEL SAFE AS $$
    SELECT coalesce(($1 = @extschema@.rag_current_user() OR ($1 IS NULL AND @extschema@.rag_is_admin()))
                    AND $2 IS NOT DISTINCT FROM @extschema@.rag_current_tenant(), false)
$$;

-- The owner of a new document: shared (NULL) when an admin asks for it or leaves it unset, the caller's
-- own (rag_current_user()) otherwise; a non-admin asking for shared is refused.
CREATE FUNCTION rag_new_document_owner(shared boolean, caller text) RETURNS text
LANGUAGE plpgsql STABLE PARALLEL SAFE AS $$
BEGIN
    IF shared AND NOT @extschema@.rag_is_admin() THEN
        RAISE EXCEPTION '%: only an administrator may add to the shared knowledge base', caller
            USING ERRCODE = 'insufficient_privilege',
                  HINT = 'Leave shared unset or false to add a document of your own.';
    END IF;
    RETURN CASE WHEN coalesce(shared, @extschema@.rag_is_admin()) THEN NULL ELSE @extschema@.rag_current_user() END;
END $$;

-- Documents and chunks get an owner and a tenant: every existing one is shared (NULL, NULL), as it was.
-- The copies of other backends re-read nothing: adding columns is no change to any chunk.
ALTER TABLE rag_documents ADD COLUMN owner_id text, ADD COLUMN tenant_id text;
DROP INDEX rag_documents_source_key;
-- A source names one document of its owner (and tenant): users never collide, nor learn of each other.
CREATE UNIQUE INDEX rag_documents_source_key ON rag_documents (source, owner_id, tenant_id) NULLS NOT DISTINCT
    WHERE source IS NOT NULL;
ALTER TABLE rag_chunks ADD COLUMN owner_id text, ADD COLUMN tenant_id text;
-- A chunk is owned as its document is, whatever an INSERT or UPDATE says (consistent by construction);
-- the row-level security check that follows decides whether the caller may write it. SECURITY DEFINER:
-- it reads the document whoever may see it.
CREATE FUNCTION rag_chunk_owner() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = @extschema@, pg_catalog, pg_temp AS $$
BEGIN
    SELECT d.owner_id, d.tenant_id INTO NEW.owner_id, NEW.tenant_id
      FROM @extschema@.rag_documents d WHERE d.id = NEW.document_id;
    RETURN NEW;
END $$;
CREATE TRIGGER rag_chunk_owner BEFORE INSERT OR UPDATE OF document_id, owner_id, tenant_id ON rag_chunks
    FOR EACH ROW EXECUTE FUNCTION rag_chunk_owner();
-- ...and follows it when its owner or tenant changes.
CREATE FUNCTION rag_document_owner_changed() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = @extschema@, pg_catalog, pg_temp AS $$
BEGIN
    UPDATE @extschema@.rag_chunks c SET owner_id = NEW.owner_id, tenant_id = NEW.tenant_id WHERE c.document_id = NEW.id;
    RETURN NULL;
END $$;
CREATE TRIGGER rag_document_owner_changed AFTER UPDATE OF owner_id, tenant_id ON rag_documents FOR EACH ROW
    WHEN (OLD.owner_id IS DISTINCT FROM NEW.owner_id OR OLD.tenant_id IS DISTINCT FROM NEW.tenant_id)
    EXECUTE FUNCTION rag_document_owner_changed();

-- Ingestion for an owner: rag_ingest, rag_ingest_file and rag_ingest_table take shared => ...
DROP FUNCTION rag_ingest(text, text, jsonb, text, integer, integer, text, text);
DROP FUNCTION rag_ingest_file(bytea, text, jsonb, text, integer, integer, text, text);
DROP FUNCTION rag_ingest_table(regclass, name, name, name, integer, integer, text, integer);
DROP FUNCTION rag_ingest_rows(regclass, text[], text[], text[], integer, integer, text, boolean, bigint, bigint, integer);

-- rag_ingest for a given owner (NULL: the shared knowledge base) and tenant (NULL: any): chunks, embeds
-- and stores a document in one transaction; returns its id. With a source, ingesting again is
-- incremental (a source names one document per owner and tenant): the same content, chunking and
-- embedding model change nothing and call no provider; new content replaces the chunks and embeds only
-- chunk texts that are new. Metadata goes through rag_check_metadata; the text search configuration
-- comes from rag_setting. Who may write what is row-level security's to decide (superusers any owner);
-- checked first, to refuse with a clear message before any provider is called.
CREATE FUNCTION rag_ingest_document(owner_id text, tenant_id text, title text, content text,
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

    -- Also without a source (then no row matches): the test below needs `old` assigned, if only to NULLs
    -- (0.5.0 skipped this query without a source and failed with 'record "old" is not assigned yet').
    SELECT d.id, d.content_hash, d.chunking, d.title, d.metadata, d.mime INTO old
      FROM @extschema@.rag_documents d
     WHERE d.source = rag_ingest_document.source AND d.owner_id IS NOT DISTINCT FROM rag_ingest_document.owner_id
       AND d.tenant_id IS NOT DISTINCT FROM rag_ingest_document.tenant_id
       FOR UPDATE;
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
    INSERT INTO @extschema@.rag_chunks (document_id, seq, content, char_start, char_end, heading, embedding,
                                        embedding_model, tsv)
    SELECT doc_id, u.seq, u.body, u.s, u.e, u.heading, u.emb, model,
           setweight(to_tsvector(config, coalesce(title, '') || ' ' || coalesce(u.heading, '')), 'A')
             || to_tsvector(config, u.body)
      FROM unnest(seqs, texts, starts, ends, headings, embeddings) u(seq, body, s, e, heading, emb);
    RETURN doc_id;
END $$;

-- Adds a document to the knowledge base (rag_ingest_document): the caller's own (rag_current_user(), in
-- their tenant), or with shared => true the shared knowledge base's, which only an admin may write;
-- left unset, an admin's documents are shared and everyone else's their own.
CREATE FUNCTION rag_ingest(title text, content text, metadata jsonb DEFAULT '{}', source text DEFAULT NULL,
                           max_chars integer DEFAULT 1000, overlap integer DEFAULT NULL,
                           strategy text DEFAULT 'recursive', mime text DEFAULT 'text/plain',
                           shared boolean DEFAULT NULL)
RETURNS bigint LANGUAGE sql VOLATILE PARALLEL UNSAFE AS $$
    SELECT @extschema@.rag_ingest_document(@extschema@.rag_new_document_owner($9, 'rag_ingest'),
                                           @extschema@.rag_current_tenant(), $1, $2, $3, $4, $5, $6, $7, $8)
$$;

-- Extracts a file's text (type from mime or the file name) and ingests it; the file name is the
-- default title and source, so loading the same file again is incremental. Markdown and HTML
-- (whose headings extraction keeps) are chunked by headings unless a strategy is given. Owned as
-- rag_ingest's documents are (shared: the same).
CREATE FUNCTION rag_ingest_file(content bytea, filename text, metadata jsonb DEFAULT '{}',
                                source text DEFAULT NULL, max_chars integer DEFAULT 1000,
                                overlap integer DEFAULT NULL, strategy text DEFAULT NULL,
                                mime text DEFAULT NULL, shared boolean DEFAULT NULL)
RETURNS bigint LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE AS $$
DECLARE
    kind text := coalesce(mime, @extschema@.rag_guess_mime(filename, content));
    body text;
BEGIN
    IF content IS NULL OR filename IS NULL THEN
        RAISE EXCEPTION 'rag_ingest_file: content and filename must not be NULL' USING ERRCODE = 'null_value_not_allowed';
    END IF;
    body := @extschema@.rag_extract_text(content, kind, filename);
    RETURN @extschema@.rag_ingest(
        regexp_replace(filename, '^.*/', ''), body,
        @extschema@.rag_check_metadata(metadata, 'rag_ingest_file') || jsonb_build_object('filename', filename),
        coalesce(source, filename), max_chars, overlap,
        coalesce(strategy, CASE WHEN kind IN ('text/markdown', 'text/html') THEN 'markdown' ELSE 'recursive' END),
        kind, shared);
END $$;

-- Ingests every row of a table (text, optional title, id columns) in this transaction, with a NOTICE
-- every pg_rag.progress_every rows; cancelling rolls all of it back. Returns rows ingested.
-- With a remote provider and the cache on, rows go in batches: the chunk texts of every new or
-- changed row of a batch are embedded in one rag_embed call (split and sent concurrently), which
-- fills the cache, so the per-row rag_ingest finds them there instead of making a request each.
-- The settings come from rag_setting. The documents are owned as rag_ingest's are (shared: the same).
CREATE FUNCTION rag_ingest_table(tbl regclass, text_column name, title_column name DEFAULT NULL,
                                 id_column name DEFAULT 'id', max_chars integer DEFAULT 1000,
                                 overlap integer DEFAULT NULL, strategy text DEFAULT 'recursive',
                                 batch_size integer DEFAULT 200, shared boolean DEFAULT NULL)
RETURNS bigint LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE AS $$
DECLARE
    owner text := @extschema@.rag_new_document_owner(shared, 'rag_ingest_table');
    tenant text := @extschema@.rag_current_tenant();
    r record;
    done bigint := 0;
    total bigint;
    every integer := @extschema@.rag_setting('pg_rag.progress_every')::integer;
    prefetch boolean := @extschema@.rag_setting('pg_rag.embedding_provider') <> 'local'
                        AND @extschema@.rag_setting('pg_rag.embedding_cache')::boolean;
    ids text[] := '{}';
    bodies text[] := '{}';
    titles text[] := '{}';
BEGIN
    PERFORM @extschema@.rag_check_columns(tbl, ARRAY[text_column, title_column, id_column]);
    IF batch_size IS NULL OR batch_size < 1 THEN
        RAISE EXCEPTION 'batch_size must be at least 1' USING ERRCODE = 'invalid_parameter_value';
    END IF;
    EXECUTE format('SELECT count(*) FROM %s WHERE %I IS NOT NULL', tbl, text_column) INTO total;
    FOR r IN EXECUTE format('SELECT %I::text AS id, %I::text AS body, %s AS title FROM %s WHERE %I IS NOT NULL ORDER BY 1',
                            id_column, text_column,
                            CASE WHEN title_column IS NULL THEN 'NULL::text' ELSE format('%I::text', title_column) END,
                            tbl, text_column)
    LOOP
        ids := ids || r.id; bodies := bodies || r.body; titles := titles || r.title;
        CONTINUE WHEN cardinality(ids) < batch_size;
        done := done + @extschema@.rag_ingest_rows(tbl, ids, bodies, titles, max_chars, overlap, strategy, prefetch,
                                                   done, total, every, owner, tenant);
        ids := '{}'; bodies := '{}'; titles := '{}';
    END LOOP;
    IF cardinality(ids) > 0 THEN
        done := done + @extschema@.rag_ingest_rows(tbl, ids, bodies, titles, max_chars, overlap, strategy, prefetch,
                                                   done, total, every, owner, tenant);
    END IF;
    RETURN done;
END $$;

-- One batch of rag_ingest_table: prefetches the embeddings of new or changed rows, then ingests each
-- for owner_id and tenant_id (rag_ingest_document).
CREATE FUNCTION rag_ingest_rows(tbl regclass, ids text[], bodies text[], titles text[], max_chars integer,
                                overlap integer, strategy text, prefetch boolean, done_before bigint,
                                total bigint, every integer, owner_id text, tenant_id text)
RETURNS bigint LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE AS $$
DECLARE
    i integer;
BEGIN
    IF prefetch THEN
        PERFORM @extschema@.rag_embed(ARRAY(
            SELECT DISTINCT c.content
              FROM unnest(ids, bodies) b(id, body)
              CROSS JOIN LATERAL @extschema@.rag_chunk(b.body, max_chars, overlap, strategy) c
             WHERE NOT EXISTS (SELECT 1 FROM @extschema@.rag_documents d
                                WHERE d.source = @extschema@.rag_row_source(tbl, b.id)
                                  AND d.owner_id IS NOT DISTINCT FROM rag_ingest_rows.owner_id
                                  AND d.tenant_id IS NOT DISTINCT FROM rag_ingest_rows.tenant_id
                                  AND d.content_hash = sha256(convert_to(b.body, 'UTF8')))));
    END IF;
    FOR i IN 1 .. cardinality(ids) LOOP
        PERFORM @extschema@.rag_ingest_document(owner_id, tenant_id, titles[i], bodies[i],
                                                jsonb_build_object('source_table', @extschema@.rag_table_name(tbl),
                                                                   'source_id', ids[i]),
                                                @extschema@.rag_row_source(tbl, ids[i]), max_chars, overlap, strategy);
        IF every > 0 AND (done_before + i) % every = 0 THEN
            RAISE NOTICE 'rag_ingest_table: % of % rows of % ingested', done_before + i, total, tbl;
        END IF;
    END LOOP;
    RETURN cardinality(ids);
END $$;

-- Syncing: a synced table's documents are its owner's.

-- Who owns a synced table's documents: the table's owner role, a plain SQL role being the user of its
-- name; the shared knowledge base when that role is a superuser. Derived from the table, not passed
-- in: anyone may attach rag_sync_trigger to a table of their own, and gets their own documents.
CREATE FUNCTION rag_sync_owner(tbl regclass) RETURNS text
LANGUAGE sql STABLE PARALLEL SAFE AS $$
    SELECT CASE WHEN r.rolsuper THEN NULL ELSE r.rolname::text END
    FROM pg_catalog.pg_class c JOIN pg_catalog.pg_roles r ON r.oid = c.relowner WHERE c.oid = $1
$$;

-- The trigger behind rag_sync_table: arguments are the text, title ('' for none) and id columns.
-- It runs as the extension's owner (SECURITY DEFINER, fixed search_path) so that anyone allowed to
-- write the synced table keeps the knowledge base in step without privileges on it; it only ever
-- touches documents of the table's owner (rag_sync_owner), in no tenant.
CREATE OR REPLACE FUNCTION rag_sync_trigger() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = @extschema@, pg_catalog, pg_temp AS $$
DECLARE
    text_column text := TG_ARGV[0];
    title_column text := nullif(TG_ARGV[1], '');
    id_column text := TG_ARGV[2];
    tbl regclass := TG_RELID;
    owner text := @extschema@.rag_sync_owner(TG_RELID);
    new_row jsonb;
    old_row jsonb;
BEGIN
    IF TG_OP = 'TRUNCATE' THEN
        DELETE FROM @extschema@.rag_documents d WHERE starts_with(d.source, @extschema@.rag_row_source(tbl, ''))
           AND d.owner_id IS NOT DISTINCT FROM owner AND d.tenant_id IS NULL;
        RETURN NULL;
    END IF;
    IF TG_OP IN ('UPDATE', 'DELETE') THEN old_row := to_jsonb(OLD); END IF;
    IF TG_OP IN ('INSERT', 'UPDATE') THEN new_row := to_jsonb(NEW); END IF;
    IF old_row IS NOT NULL AND (new_row IS NULL OR new_row ->> id_column IS DISTINCT FROM old_row ->> id_column
                                OR new_row ->> text_column IS NULL) THEN
        DELETE FROM @extschema@.rag_documents d WHERE d.source = @extschema@.rag_row_source(tbl, old_row ->> id_column)
           AND d.owner_id IS NOT DISTINCT FROM owner AND d.tenant_id IS NULL;
    END IF;
    IF new_row IS NOT NULL AND new_row ->> text_column IS NOT NULL THEN
        PERFORM @extschema@.rag_ingest_document(owner, NULL,
            CASE WHEN title_column IS NULL THEN NULL ELSE new_row ->> title_column END, new_row ->> text_column,
            jsonb_build_object('source_table', @extschema@.rag_table_name(tbl), 'source_id', new_row ->> id_column),
            @extschema@.rag_row_source(tbl, new_row ->> id_column));
    END IF;
    RETURN NULL;
END $$;

-- Keeps a table of your own in the knowledge base: ingests its rows now, then triggers follow every
-- insert, update of the text/title/id columns, delete and truncate. A write while the embedding
-- provider fails raises the provider's error and the write rolls back: nothing is lost or half-done.
-- The documents are the table owner's (rag_sync_owner), in no tenant: only that user may sync it (a
-- superuser too: SET ROLE to the owner first), or an admin a superuser's table (documents shared).
CREATE OR REPLACE FUNCTION rag_sync_table(tbl regclass, text_column name, title_column name DEFAULT NULL,
                               id_column name DEFAULT 'id')
RETURNS bigint LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE AS $$
DECLARE
    columns text;
    owner text := @extschema@.rag_sync_owner(tbl);
BEGIN
    IF NOT @extschema@.rag_may_write(owner, NULL) THEN
        RAISE EXCEPTION 'rag_sync_table: permission denied to sync %: its documents would belong to %', tbl,
            coalesce('its owner ' || quote_ident(owner), 'the shared knowledge base (its owner is a superuser)')
            USING ERRCODE = 'insufficient_privilege',
                  HINT = 'A synced table''s documents are its owner''s, in no tenant: sync the tables you own '
                         '(admins: also a superuser''s, whose documents are shared).';
    END IF;
    PERFORM @extschema@.rag_check_columns(tbl, ARRAY[text_column, title_column, id_column]);
    columns := concat_ws(', ', quote_ident(text_column), quote_ident(title_column), quote_ident(id_column));
    PERFORM @extschema@.rag_drop_sync_triggers(tbl);
    EXECUTE format('CREATE TRIGGER rag_sync AFTER INSERT OR DELETE OR UPDATE OF %s ON %s FOR EACH ROW '
                   'EXECUTE FUNCTION @extschema@.rag_sync_trigger(%L, %L, %L)',
                   columns, tbl, text_column, coalesce(title_column, ''), id_column);
    EXECUTE format('CREATE TRIGGER rag_sync_truncate AFTER TRUNCATE ON %s FOR EACH STATEMENT '
                   'EXECUTE FUNCTION @extschema@.rag_sync_trigger(%L, %L, %L)',
                   tbl, text_column, coalesce(title_column, ''), id_column);
    RETURN @extschema@.rag_ingest_table(tbl, text_column, title_column, id_column, shared => owner IS NULL);
END $$;

-- Stops syncing a table; its documents (its owner's) stay unless delete_documents is true.
CREATE OR REPLACE FUNCTION rag_unsync_table(tbl regclass, delete_documents boolean DEFAULT false)
RETURNS bigint LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE AS $$
DECLARE n bigint := 0;
BEGIN
    PERFORM @extschema@.rag_drop_sync_triggers(tbl);
    IF delete_documents THEN
        WITH gone AS (DELETE FROM @extschema@.rag_documents d
                      WHERE starts_with(d.source, @extschema@.rag_row_source(tbl, ''))
                        AND d.owner_id IS NOT DISTINCT FROM @extschema@.rag_sync_owner(tbl) AND d.tenant_id IS NULL
                      RETURNING 1)
        SELECT count(*) INTO n FROM gone;
    END IF;
    RETURN n;
END $$;

-- Sessions per user: the existing ones become the upgrading role's (who they were for is not known),
-- each message its session's.
ALTER TABLE rag_messages DROP CONSTRAINT rag_messages_session_id_fkey;
ALTER TABLE rag_sessions DROP CONSTRAINT rag_sessions_pkey;
ALTER TABLE rag_sessions ADD COLUMN owner_id text NOT NULL DEFAULT @extschema@.rag_current_user();
ALTER TABLE rag_sessions ADD PRIMARY KEY (owner_id, id);
ALTER TABLE rag_messages ADD COLUMN owner_id text;
UPDATE rag_messages m SET owner_id = s.owner_id FROM rag_sessions s WHERE s.id = m.session_id;
ALTER TABLE rag_messages ALTER COLUMN owner_id SET NOT NULL,
    ALTER COLUMN owner_id SET DEFAULT @extschema@.rag_current_user();
ALTER TABLE rag_messages ADD CONSTRAINT rag_messages_session_fkey FOREIGN KEY (owner_id, session_id)
    REFERENCES rag_sessions (owner_id, id) ON DELETE CASCADE;
DROP INDEX rag_messages_session_idx;
CREATE INDEX rag_messages_session_idx ON rag_messages (owner_id, session_id, id);
-- Cached answers were shared by everyone who asked: drop them, and key the new ones on their asker.
TRUNCATE rag_answer_cache;
ALTER TABLE rag_answer_cache ADD COLUMN owner_id text NOT NULL DEFAULT @extschema@.rag_current_user(),
    ADD COLUMN tenant_id text DEFAULT @extschema@.rag_current_tenant();

-- Records a finished exchange in a session of the caller's: the question and the answer, together or
-- not at all.
-- Its inputs are checked: NULLs or an answer of another shape are refused, never stored as an empty turn.
CREATE OR REPLACE FUNCTION rag_record_answer(session_id text, question text, answer jsonb) RETURNS void
LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE AS $$
BEGIN
    IF $1 IS NULL OR $2 IS NULL OR $3 IS NULL THEN
        RAISE EXCEPTION 'rag_record_answer: session_id, question and answer must not be NULL'
            USING ERRCODE = 'null_value_not_allowed';
    END IF;
    IF jsonb_typeof($3) <> 'object' OR jsonb_typeof($3 -> 'answer') IS DISTINCT FROM 'string' THEN
        RAISE EXCEPTION 'rag_record_answer: answer must be an object with an "answer" string'
            USING ERRCODE = 'invalid_parameter_value', HINT = 'Pass rag_answer_result()''s result.';
    END IF;
    INSERT INTO @extschema@.rag_sessions (owner_id, id) VALUES (@extschema@.rag_current_user(), $1)
        ON CONFLICT (owner_id, id) DO UPDATE SET updated_at = now();
    INSERT INTO @extschema@.rag_messages (owner_id, session_id, role, content)
    VALUES (@extschema@.rag_current_user(), $1, 'user', $2);
    INSERT INTO @extschema@.rag_messages (owner_id, session_id, role, content, sources, provider, model)
    VALUES (@extschema@.rag_current_user(), $1, 'assistant', $3 ->> 'answer', $3 -> 'sources', $3 ->> 'provider',
            $3 ->> 'model');
END $$;

-- Retrieves with rag_search, packs the best chunks into a prompt, generates with the first provider of
-- pg_rag.llm_providers that answers, and returns the documented result (README, "Answers"). With a
-- session, earlier turns join the prompt and the follow-up is made standalone for retrieval; the
-- exchange is recorded. Without one, answers are cached until the knowledge base or a setting changes.
-- PL/pgSQL only orchestrates: the cache key, the prompt and the result come from C.
CREATE OR REPLACE FUNCTION rag_answer(question text, session_id text DEFAULT NULL, k integer DEFAULT 5,
                           mode text DEFAULT 'hybrid', filter jsonb DEFAULT NULL)
RETURNS jsonb LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE AS $$
DECLARE
    started timestamptz := clock_timestamp();
    history jsonb := '[]';
    retrieval_question text := question;
    hit jsonb;
    sources jsonb;     -- rag_search's rows
    prompt jsonb;      -- rag_prepare_answer: {system, messages, sources}
    generated jsonb;   -- rag_generate: {answer, provider, model, usage, fallbacks?}
    result jsonb;      -- rag_answer_result: the documented shape (README, "Answers")
BEGIN
    IF question IS NULL OR btrim(question) = '' THEN
        RAISE EXCEPTION 'rag_answer: the question is empty' USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF k IS NULL OR k < 1 OR k > 50 THEN
        RAISE EXCEPTION 'rag_answer: k must be between 1 and 50, not %', k USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF session_id IS NOT NULL THEN
        SELECT coalesce(jsonb_agg(jsonb_build_object('role', m.role, 'content', m.content) ORDER BY m.id), '[]')
          INTO history
          FROM (SELECT * FROM @extschema@.rag_messages x
                WHERE x.owner_id = @extschema@.rag_current_user() AND x.session_id = rag_answer.session_id
                ORDER BY x.id DESC LIMIT 20) m;
        IF jsonb_array_length(history) > 0 THEN
            retrieval_question := @extschema@.rag_rewrite_question(question, history);
        END IF;
    ELSIF @extschema@.rag_setting('pg_rag.answer_cache')::boolean THEN   -- (off: no need to read the cache)
        hit := @extschema@.rag_cached_answer(question, k, mode, filter);
        IF hit IS NOT NULL THEN
            RETURN hit || jsonb_build_object('latency_ms', round(extract(epoch FROM clock_timestamp() - started) * 1000));
        END IF;
    END IF;

    -- Search rows as JSON objects, best first: rag_prepare_answer reads the fields it needs by name
    -- (chunk_id, document_id, title, source, content, heading, score) and ignores the others, so new
    -- columns of rag_search need no change here.
    SELECT coalesce(jsonb_agg(to_jsonb(s) - 'ordinality' ORDER BY s.ordinality), '[]')
      INTO sources
      FROM @extschema@.rag_search(retrieval_question, k, mode, filter) WITH ORDINALITY s;
    -- The numbered sources and earlier turns within pg_rag.max_context_tokens, then the first provider
    -- that answers, then the result's shape: each a C function of the core's contract (answer_json.hpp),
    -- which the HTTP server calls step by step to stream the generation itself.
    prompt := @extschema@.rag_prepare_answer(question, history, sources);
    generated := @extschema@.rag_generate(prompt);
    result := @extschema@.rag_answer_result(prompt, generated, nullif(retrieval_question, question));
    IF session_id IS NOT NULL THEN
        PERFORM @extschema@.rag_record_answer(session_id, question, result);
    ELSE
        PERFORM @extschema@.rag_cache_answer(question, k, mode, filter, result);
    END IF;
    RETURN result || jsonb_build_object('latency_ms', round(extract(epoch FROM clock_timestamp() - started) * 1000));
END $$;

-- The turns of a session of the caller's, oldest first.
CREATE OR REPLACE FUNCTION rag_session_messages(session_id text)
RETURNS TABLE (id bigint, role text, content text, sources jsonb, provider text, model text, created_at timestamptz)
LANGUAGE sql STABLE PARALLEL SAFE AS $$
    SELECT m.id, m.role, m.content, m.sources, m.provider, m.model, m.created_at
    FROM @extschema@.rag_messages m WHERE m.owner_id = @extschema@.rag_current_user() AND m.session_id = $1
    ORDER BY m.id
$$;

-- Deletes a session of the caller's and its messages; false when there was none.
CREATE OR REPLACE FUNCTION rag_delete_session(session_id text) RETURNS boolean
LANGUAGE sql VOLATILE PARALLEL UNSAFE AS $$
    WITH gone AS (DELETE FROM @extschema@.rag_sessions s
                  WHERE s.owner_id = @extschema@.rag_current_user() AND s.id = $1 RETURNING 1)
    SELECT count(*) > 0 FROM gone
$$;

-- == Queued questions and background pruning (issue #9: POST /api/questions) =====================

-- Questions asked now and answered later by the HTTP server's question workers: claimed with a lease
-- (FOR UPDATE SKIP LOCKED), so a question whose server died is claimed again once the lease runs out;
-- retried a bounded number of times; kept for a retention period once finished. A question is its
-- asker's (owner_id, tenant_id: who asked, as row-level security sees it): askers queue and read their
-- own through rag_enqueue_question and rag_question (SECURITY INVOKER, under the table's policies);
-- workers go through the SECURITY DEFINER functions below, executable only by roles granted them, and
-- answer each question as its asker.
CREATE TABLE rag_questions (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),  -- unguessable: the status URL does not enumerate
    request jsonb NOT NULL,                         -- {question, session_id, k, mode, filter}
    owner_id text NOT NULL DEFAULT @extschema@.rag_current_user(),
    tenant_id text DEFAULT @extschema@.rag_current_tenant(),
    status text NOT NULL DEFAULT 'queued' CHECK (status IN ('queued', 'running', 'done', 'failed')),
    attempts integer NOT NULL DEFAULT 0 CHECK (attempts >= 0),  -- claims so far
    claimed_by text,                                -- the worker of the current attempt
    lease_until timestamptz,                        -- past it, another worker may claim the question
    retry_at timestamptz,                           -- a retry waits until then
    result jsonb,                                   -- rag_answer's JSON, when done
    error jsonb,                                    -- {message, type, code} of the last failed attempt
    created_at timestamptz NOT NULL DEFAULT now(),
    started_at timestamptz,                         -- the last attempt's claim
    finished_at timestamptz,
    CHECK ((status = 'running') = (claimed_by IS NOT NULL AND lease_until IS NOT NULL)),
    CHECK ((status IN ('done', 'failed')) = (finished_at IS NOT NULL)),
    CHECK ((status = 'done') = (result IS NOT NULL)),
    CHECK (status <> 'failed' OR error IS NOT NULL)
);
-- The claim's scan (oldest first) and the pruner's.
CREATE INDEX rag_questions_pending_idx ON rag_questions (created_at, id) WHERE status IN ('queued', 'running');
CREATE INDEX rag_questions_finished_idx ON rag_questions (finished_at) WHERE status IN ('done', 'failed');
REVOKE ALL ON rag_questions FROM PUBLIC;
-- The session pruner's scan (rag_prune_sessions).
CREATE INDEX rag_sessions_updated_idx ON rag_sessions (updated_at);

-- Queues a question as POST /api/chat would take it (checked now, as rag_answer checks it), the caller's
-- own; its id.
CREATE FUNCTION rag_enqueue_question(question text, session_id text DEFAULT NULL, k integer DEFAULT 5,
                                     mode text DEFAULT 'hybrid', filter jsonb DEFAULT NULL) RETURNS uuid
LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE SET search_path = @extschema@, pg_catalog, pg_temp AS $$
DECLARE
    new_id uuid;
BEGIN
    IF question IS NULL OR btrim(question) = '' THEN
        RAISE EXCEPTION 'rag_enqueue_question: the question is empty' USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF session_id IS NOT NULL AND session_id = '' THEN
        RAISE EXCEPTION 'rag_enqueue_question: session_id must not be empty' USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF k IS NULL OR k < 1 OR k > 50 THEN
        RAISE EXCEPTION 'rag_enqueue_question: k must be between 1 and 50, not %', k
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF mode IS NULL OR mode NOT IN ('hybrid', 'vector', 'keyword') THEN
        RAISE EXCEPTION 'rag_enqueue_question: mode must be hybrid, vector or keyword, not %', coalesce(mode, 'NULL')
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF filter IS NOT NULL AND jsonb_typeof(filter) <> 'object' THEN
        RAISE EXCEPTION 'rag_enqueue_question: filter must be a JSON object' USING ERRCODE = 'invalid_parameter_value';
    END IF;
    INSERT INTO @extschema@.rag_questions (request)
    VALUES (jsonb_build_object('question', question, 'session_id', session_id, 'k', k, 'mode', mode, 'filter', filter))
    RETURNING rag_questions.id INTO new_id;
    RETURN new_id;
END $$;

-- A question's state as GET /api/questions/{id} shows it (NULL when there is none, or it is another
-- user's): the answer when done, the error when failed.
CREATE FUNCTION rag_question(id uuid) RETURNS jsonb
LANGUAGE sql STABLE STRICT PARALLEL SAFE SET search_path = @extschema@, pg_catalog, pg_temp AS $$
    SELECT jsonb_build_object('id', q.id, 'status', q.status, 'attempts', q.attempts, 'created_at', q.created_at,
                              'started_at', q.started_at, 'finished_at', q.finished_at, 'answer', q.result,
                              'error', CASE WHEN q.status = 'failed' THEN q.error END)
    FROM @extschema@.rag_questions q WHERE q.id = $1
$$;

-- The checks shared by the worker's steps: a named worker, a positive lease, retries of at least 0.
CREATE FUNCTION rag_check_question_worker(worker text, lease interval DEFAULT '1 second', retries integer DEFAULT 0)
RETURNS void
LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE AS $$
BEGIN
    IF worker IS NULL OR worker = '' THEN
        RAISE EXCEPTION 'pg_rag: a question worker must be named' USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF lease IS NULL OR lease <= interval '0' THEN
        RAISE EXCEPTION 'pg_rag: a question lease must be positive, not %', coalesce(lease::text, 'NULL')
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF retries IS NULL OR retries < 0 THEN
        RAISE EXCEPTION 'pg_rag: question retries must be 0 or more, not %', coalesce(retries::text, 'NULL')
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
END $$;

-- Claims the oldest question that is queued (and not waiting for a retry) or whose lease ran out,
-- for worker, until now() + lease; other workers skip the rows being claimed instead of waiting.
-- A question whose lease ran out after retries + 1 attempts is failed ("abandoned"), not claimed.
-- Returns the claimed question (no row: nothing to do).
CREATE FUNCTION rag_claim_question(worker text, lease interval, retries integer DEFAULT 3)
RETURNS TABLE (id uuid, request jsonb, attempts integer, owner_id text, tenant_id text)
LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE SECURITY DEFINER SET search_path = @extschema@, pg_catalog, pg_temp AS $$
BEGIN
    PERFORM @extschema@.rag_check_question_worker(worker, lease, retries);
    UPDATE @extschema@.rag_questions q
       SET status = 'failed', claimed_by = NULL, lease_until = NULL, finished_at = now(),
           error = jsonb_build_object('message', format('the question''s worker stopped before answering, %s times',
                                                        q.attempts),
                                      'type', 'server_error', 'code', 'abandoned')
     WHERE q.id IN (SELECT a.id FROM @extschema@.rag_questions a
                     WHERE a.status = 'running' AND a.lease_until < now() AND a.attempts > retries
                     FOR UPDATE SKIP LOCKED);
    RETURN QUERY
    UPDATE @extschema@.rag_questions q
       SET status = 'running', attempts = q.attempts + 1, claimed_by = worker, lease_until = now() + lease,
           retry_at = NULL, started_at = now()
     WHERE q.id = (SELECT n.id FROM @extschema@.rag_questions n
                    WHERE (n.status = 'queued' AND (n.retry_at IS NULL OR n.retry_at <= now()))
                       OR (n.status = 'running' AND n.lease_until < now())
                    ORDER BY n.created_at, n.id
                    LIMIT 1 FOR UPDATE SKIP LOCKED)
    RETURNING q.id, q.request, q.attempts, q.owner_id, q.tenant_id;
END $$;

-- Extends worker's lease on a question it is answering; false when the question is no longer its own
-- (its lease ran out and another worker claimed it): the worker then stops.
CREATE FUNCTION rag_extend_question_lease(id uuid, worker text, lease interval) RETURNS boolean
LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE SECURITY DEFINER SET search_path = @extschema@, pg_catalog, pg_temp AS $$
BEGIN
    PERFORM @extschema@.rag_check_question_worker(worker, lease);
    UPDATE @extschema@.rag_questions q SET lease_until = now() + lease
     WHERE q.id = rag_extend_question_lease.id AND q.status = 'running' AND q.claimed_by = worker;
    RETURN FOUND;
END $$;

-- Records worker's answer (rag_answer's JSON) and, for a question asked in a session, the asker's
-- session turn, in one transaction; false (and nothing written) when the question is no longer its own.
-- The turn is recorded as the asker: the identity settings are theirs for the rest of the transaction.
CREATE FUNCTION rag_finish_question(id uuid, worker text, answer jsonb) RETURNS boolean
LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE SECURITY DEFINER SET search_path = @extschema@, pg_catalog, pg_temp AS $$
DECLARE
    asked record;
BEGIN
    IF answer IS NULL OR jsonb_typeof(answer) <> 'object' OR jsonb_typeof(answer -> 'answer') IS DISTINCT FROM 'string'
    THEN
        RAISE EXCEPTION 'rag_finish_question: answer must be an object with an "answer" string'
            USING ERRCODE = 'invalid_parameter_value', HINT = 'Pass rag_answer()''s result.';
    END IF;
    UPDATE @extschema@.rag_questions q
       SET status = 'done', result = answer, error = NULL, claimed_by = NULL, lease_until = NULL, finished_at = now()
     WHERE q.id = rag_finish_question.id AND q.status = 'running' AND q.claimed_by = worker
    RETURNING q.request, q.owner_id, q.tenant_id INTO asked;
    IF NOT FOUND THEN
        RETURN false;
    END IF;
    IF asked.request ->> 'session_id' IS NOT NULL THEN
        PERFORM set_config('pg_rag.user_id', asked.owner_id, true),
                set_config('pg_rag.tenant_id', coalesce(asked.tenant_id, ''), true);
        PERFORM @extschema@.rag_record_answer(asked.request ->> 'session_id', asked.request ->> 'question', answer);
    END IF;
    RETURN true;
END $$;

-- Records a failed attempt of worker's (error: {message, type, code}): queued again after
-- retry_delay * 2^(attempts - 1) while attempts <= retries, failed after that. Returns the new status,
-- or NULL when the question is no longer its own.
CREATE FUNCTION rag_fail_question(id uuid, worker text, error jsonb, retries integer DEFAULT 3,
                                  retry_delay interval DEFAULT '2 seconds') RETURNS text
LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE SECURITY DEFINER SET search_path = @extschema@, pg_catalog, pg_temp AS $$
DECLARE
    new_status text;
BEGIN
    PERFORM @extschema@.rag_check_question_worker(worker, retries => retries);
    IF error IS NULL OR jsonb_typeof(error) <> 'object' OR jsonb_typeof(error -> 'message') IS DISTINCT FROM 'string'
    THEN
        RAISE EXCEPTION 'rag_fail_question: error must be an object with a "message" string'
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF retry_delay IS NULL OR retry_delay < interval '0' THEN
        RAISE EXCEPTION 'rag_fail_question: retry_delay must be 0 or more' USING ERRCODE = 'invalid_parameter_value';
    END IF;
    UPDATE @extschema@.rag_questions q
       SET status = CASE WHEN q.attempts > retries THEN 'failed' ELSE 'queued' END,
           retry_at = CASE WHEN q.attempts <= retries
                           THEN now() + retry_delay * power(2, least(q.attempts - 1, 16)) END,
           finished_at = CASE WHEN q.attempts > retries THEN now() END,
           error = rag_fail_question.error, claimed_by = NULL, lease_until = NULL
     WHERE q.id = rag_fail_question.id AND q.status = 'running' AND q.claimed_by = worker
    RETURNING q.status INTO new_status;
    RETURN new_status;
END $$;

-- Gives a question worker holds back to the queue without counting the attempt (a server shutting
-- down mid-answer); false when it is no longer its own.
CREATE FUNCTION rag_release_question(id uuid, worker text) RETURNS boolean
LANGUAGE sql VOLATILE STRICT PARALLEL UNSAFE SECURITY DEFINER SET search_path = @extschema@, pg_catalog, pg_temp AS $$
    WITH released AS (
        UPDATE @extschema@.rag_questions q
           SET status = 'queued', attempts = q.attempts - 1, claimed_by = NULL, lease_until = NULL
         WHERE q.id = $1 AND q.status = 'running' AND q.claimed_by = $2
        RETURNING 1)
    SELECT count(*) > 0 FROM released
$$;

-- Deletes questions finished (done or failed) longer ago than retention; returns how many.
CREATE FUNCTION rag_prune_questions(retention interval) RETURNS bigint
LANGUAGE sql VOLATILE STRICT PARALLEL UNSAFE SECURITY DEFINER SET search_path = @extschema@, pg_catalog, pg_temp AS $$
    WITH gone AS (DELETE FROM @extschema@.rag_questions q
                   WHERE q.status IN ('done', 'failed') AND q.finished_at < now() - $1 RETURNING 1)
    SELECT count(*) FROM gone
$$;

-- Deletes every user's sessions untouched for longer than older_than (rag_prune_sessions deletes the
-- caller's own only, under row-level security): the server's background pruning. Returns how many.
CREATE FUNCTION rag_prune_all_sessions(older_than interval) RETURNS bigint
LANGUAGE sql VOLATILE STRICT PARALLEL UNSAFE SECURITY DEFINER SET search_path = @extschema@, pg_catalog, pg_temp AS $$
    WITH gone AS (DELETE FROM @extschema@.rag_sessions s WHERE s.updated_at < now() - $1 RETURNING 1)
    SELECT count(*) FROM gone
$$;

-- Questions by status, every status listed (the server's /metrics gauge).
CREATE FUNCTION rag_question_counts() RETURNS TABLE (status text, questions bigint)
LANGUAGE sql STABLE PARALLEL SAFE SECURITY DEFINER SET search_path = @extschema@, pg_catalog, pg_temp AS $$
    SELECT s.status, count(q.id)
    FROM unnest(ARRAY['queued', 'running', 'done', 'failed']) WITH ORDINALITY s(status, ord)
    LEFT JOIN @extschema@.rag_questions q ON q.status = s.status
    GROUP BY s.status, s.ord ORDER BY s.ord
$$;

-- Askers and workers are granted these explicitly (README, "Queued questions").
REVOKE ALL ON FUNCTION rag_enqueue_question(text, text, integer, text, jsonb) FROM PUBLIC;
REVOKE ALL ON FUNCTION rag_question(uuid) FROM PUBLIC;
REVOKE ALL ON FUNCTION rag_claim_question(text, interval, integer) FROM PUBLIC;
REVOKE ALL ON FUNCTION rag_extend_question_lease(uuid, text, interval) FROM PUBLIC;
REVOKE ALL ON FUNCTION rag_finish_question(uuid, text, jsonb) FROM PUBLIC;
REVOKE ALL ON FUNCTION rag_fail_question(uuid, text, jsonb, integer, interval) FROM PUBLIC;
REVOKE ALL ON FUNCTION rag_release_question(uuid, text) FROM PUBLIC;
REVOKE ALL ON FUNCTION rag_prune_questions(interval) FROM PUBLIC;
REVOKE ALL ON FUNCTION rag_prune_all_sessions(interval) FROM PUBLIC;
REVOKE ALL ON FUNCTION rag_question_counts() FROM PUBLIC;
-- Answers clients poll for outlive a dump and restore (a running claim's lease runs out after it).
SELECT pg_catalog.pg_extension_config_dump('rag_questions', '');

-- == Row-level security: who sees what ============================================================

-- Every caller reads the shared knowledge base (owner_id NULL) and their own documents and chunks, of
-- any tenant (NULL) or theirs, and their own sessions, messages and cached answers, never another
-- user's. They write (insert, update, delete) only their own rows, of their tenant (none: NULL), and
-- an admin the shared knowledge base's too (rag_may_write). The write rules are policies of their
-- own commands, so that reads plan with the read rule alone.
-- Enabled, not forced: the tables' owner (the superuser who installed pg_rag) reads every row, as the
-- in-memory search copies need (loaded as the owner, filtered per caller in C by the same rules);
-- superusers and BYPASSRLS roles see everything. The identity functions are sub-selects, evaluated
-- once per statement (init plans), not once per row.

ALTER TABLE rag_documents ENABLE ROW LEVEL SECURITY;
CREATE POLICY rag_read ON rag_documents FOR SELECT
    USING ((owner_id IS NULL OR owner_id = (SELECT @extschema@.rag_current_user()))
           AND (tenant_id IS NULL OR tenant_id = (SELECT @extschema@.rag_current_tenant())));
CREATE POLICY rag_insert ON rag_documents FOR INSERT
    WITH CHECK ((owner_id = (SELECT @extschema@.rag_current_user())
             OR (owner_id IS NULL AND (SELECT @extschema@.rag_is_admin())))
            AND tenant_id IS NOT DISTINCT FROM (SELECT @extschema@.rag_current_tenant()));
CREATE POLICY rag_update ON rag_documents FOR UPDATE
    USING ((owner_id = (SELECT @extschema@.rag_current_user())
             OR (owner_id IS NULL AND (SELECT @extschema@.rag_is_admin())))
            AND tenant_id IS NOT DISTINCT FROM (SELECT @extschema@.rag_current_tenant()))
    WITH CHECK ((owner_id = (SELECT @extschema@.rag_current_user())
             OR (owner_id IS NULL AND (SELECT @extschema@.rag_is_admin())))
            AND tenant_id IS NOT DISTINCT FROM (SELECT @extschema@.rag_current_tenant()));
CREATE POLICY rag_delete ON rag_documents FOR DELETE
    USING ((owner_id = (SELECT @extschema@.rag_current_user())
             OR (owner_id IS NULL AND (SELECT @extschema@.rag_is_admin())))
            AND tenant_id IS NOT DISTINCT FROM (SELECT @extschema@.rag_current_tenant()));

ALTER TABLE rag_chunks ENABLE ROW LEVEL SECURITY;
CREATE POLICY rag_read ON rag_chunks FOR SELECT
    USING ((owner_id IS NULL OR owner_id = (SELECT @extschema@.rag_current_user()))
           AND (tenant_id IS NULL OR tenant_id = (SELECT @extschema@.rag_current_tenant())));
CREATE POLICY rag_insert ON rag_chunks FOR INSERT
    WITH CHECK ((owner_id = (SELECT @extschema@.rag_current_user())
             OR (owner_id IS NULL AND (SELECT @extschema@.rag_is_admin())))
            AND tenant_id IS NOT DISTINCT FROM (SELECT @extschema@.rag_current_tenant()));
CREATE POLICY rag_update ON rag_chunks FOR UPDATE
    USING ((owner_id = (SELECT @extschema@.rag_current_user())
             OR (owner_id IS NULL AND (SELECT @extschema@.rag_is_admin())))
            AND tenant_id IS NOT DISTINCT FROM (SELECT @extschema@.rag_current_tenant()))
    WITH CHECK ((owner_id = (SELECT @extschema@.rag_current_user())
             OR (owner_id IS NULL AND (SELECT @extschema@.rag_is_admin())))
            AND tenant_id IS NOT DISTINCT FROM (SELECT @extschema@.rag_current_tenant()));
CREATE POLICY rag_delete ON rag_chunks FOR DELETE
    USING ((owner_id = (SELECT @extschema@.rag_current_user())
             OR (owner_id IS NULL AND (SELECT @extschema@.rag_is_admin())))
            AND tenant_id IS NOT DISTINCT FROM (SELECT @extschema@.rag_current_tenant()));

-- Sessions and their messages are their user's alone (a user's session ids are theirs: another user's
-- session of the same id is another session).
ALTER TABLE rag_sessions ENABLE ROW LEVEL SECURITY;
CREATE POLICY rag_own ON rag_sessions USING (owner_id = (SELECT @extschema@.rag_current_user()));
ALTER TABLE rag_messages ENABLE ROW LEVEL SECURITY;
CREATE POLICY rag_own ON rag_messages USING (owner_id = (SELECT @extschema@.rag_current_user()));
-- A cached answer belongs to the user and tenant it was computed for (its key includes them too).
ALTER TABLE rag_answer_cache ENABLE ROW LEVEL SECURITY;
CREATE POLICY rag_own ON rag_answer_cache
    USING (owner_id = (SELECT @extschema@.rag_current_user())
           AND tenant_id IS NOT DISTINCT FROM (SELECT @extschema@.rag_current_tenant()));
-- Queued questions: each its asker's, who queues them (the status, attempts and answer are the workers'
-- to set, through their SECURITY DEFINER functions) and reads them.
ALTER TABLE rag_questions ENABLE ROW LEVEL SECURITY;
CREATE POLICY rag_read ON rag_questions FOR SELECT
    USING (owner_id = (SELECT @extschema@.rag_current_user())
           AND tenant_id IS NOT DISTINCT FROM (SELECT @extschema@.rag_current_tenant()));
CREATE POLICY rag_insert ON rag_questions FOR INSERT
    WITH CHECK (owner_id = (SELECT @extschema@.rag_current_user())
                AND tenant_id IS NOT DISTINCT FROM (SELECT @extschema@.rag_current_tenant())
                AND status = 'queued' AND attempts = 0);

-- What a role needs to use pg_rag as a user (plain SQL users, and the HTTP server's role): the
-- knowledge base's tables and sequences (row-level security keeps each to their own rows), never the
-- provider keys or the internal tables. sets_identity => true also grants SET on pg_rag.user_id,
-- pg_rag.tenant_id and pg_rag.user_admin: for a role that asserts other users' identities (the server).
-- The functions are EXECUTE for PUBLIC already, except the ones that hand out or manage secrets.
CREATE FUNCTION rag_grant_user_access(role regrole, sets_identity boolean DEFAULT false) RETURNS void
LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE AS $$
BEGIN
    IF role IS NULL THEN
        RAISE EXCEPTION 'rag_grant_user_access: role must not be NULL' USING ERRCODE = 'null_value_not_allowed';
    END IF;
    EXECUTE 'GRANT USAGE ON SCHEMA @extschema@ TO ' || role::text;
    EXECUTE 'GRANT SELECT, INSERT, UPDATE, DELETE ON @extschema@.rag_documents, @extschema@.rag_chunks, '
            '@extschema@.rag_sessions, @extschema@.rag_messages, @extschema@.rag_answer_cache TO ' || role::text;
    EXECUTE 'GRANT SELECT, INSERT (request) ON @extschema@.rag_questions TO ' || role::text;
    EXECUTE 'GRANT USAGE ON SEQUENCE @extschema@.rag_documents_id_seq, @extschema@.rag_chunks_id_seq, '
            '@extschema@.rag_messages_id_seq TO ' || role::text;
    IF sets_identity THEN
        EXECUTE 'GRANT SET ON PARAMETER pg_rag.user_id, pg_rag.tenant_id, pg_rag.user_admin TO ' || role::text;
    END IF;
END $$;
-- Takes back what rag_grant_user_access gave (then DROP ROLE works).
CREATE FUNCTION rag_revoke_user_access(role regrole) RETURNS void
LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE AS $$
BEGIN
    IF role IS NULL THEN
        RAISE EXCEPTION 'rag_revoke_user_access: role must not be NULL' USING ERRCODE = 'null_value_not_allowed';
    END IF;
    EXECUTE 'REVOKE ALL ON @extschema@.rag_documents, @extschema@.rag_chunks, @extschema@.rag_sessions, '
            '@extschema@.rag_messages, @extschema@.rag_answer_cache, @extschema@.rag_questions FROM ' || role::text;
    EXECUTE 'REVOKE ALL ON SEQUENCE @extschema@.rag_documents_id_seq, @extschema@.rag_chunks_id_seq, '
            '@extschema@.rag_messages_id_seq FROM ' || role::text;
    EXECUTE 'REVOKE SET ON PARAMETER pg_rag.user_id, pg_rag.tenant_id, pg_rag.user_admin FROM ' || role::text;
    EXECUTE 'REVOKE USAGE ON SCHEMA @extschema@ FROM ' || role::text;
END $$;
REVOKE ALL ON FUNCTION rag_grant_user_access(regrole, boolean) FROM PUBLIC;
REVOKE ALL ON FUNCTION rag_revoke_user_access(regrole) FROM PUBLIC;

-- == Users: API keys and usage events (the HTTP server's callers) ===============================

-- The HTTP server's API keys. Only a key's SHA-256 is kept (a key carries 256 random bits: no slow hash
-- is needed) and its prefix, which names it in listings. Owner-only: the functions below (SECURITY
-- DEFINER; EXECUTE for superusers and the roles an administrator grants it to) are the only way in.
-- Kept by pg_dump: a hash reveals no key, and restored keys go on working.
CREATE TABLE rag_api_keys (
    id bigserial PRIMARY KEY,
    name text NOT NULL,
    user_id text NOT NULL,
    tenant_id text,
    scopes text[] NOT NULL CHECK (cardinality(scopes) > 0 AND scopes <@ ARRAY['read', 'write', 'admin']),
    prefix text NOT NULL UNIQUE,
    key_hash bytea NOT NULL UNIQUE,
    created_at timestamptz NOT NULL DEFAULT now(),
    last_used_at timestamptz,
    expires_at timestamptz,
    revoked_at timestamptz
);
REVOKE ALL ON rag_api_keys FROM PUBLIC;
SELECT pg_catalog.pg_extension_config_dump('rag_api_keys', '');
SELECT pg_catalog.pg_extension_config_dump('rag_api_keys_id_seq', '');

-- Makes a key for user_id (and tenant_id) with scopes out of read, write, admin, valid until expires
-- (NULL: until revoked), and returns it: the only time the key is shown. Called through the server on
-- behalf of a caller (pg_rag.user_id set), only an admin caller may.
CREATE FUNCTION rag_create_api_key(name text, user_id text, scopes text[] DEFAULT '{read,write}',
                                   expires timestamptz DEFAULT NULL, tenant_id text DEFAULT NULL) RETURNS text
    LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    key_prefix text;
    key text;
BEGIN
    IF coalesce(current_setting('pg_rag.user_id', true), '') <> ''
       AND NOT coalesce(nullif(current_setting('pg_rag.user_admin', true), '')::boolean, false) THEN
        RAISE EXCEPTION 'rag_create_api_key: permission denied' USING ERRCODE = 'insufficient_privilege',
            HINT = 'Only admin callers may make API keys.';
    END IF;
    IF name IS NULL OR btrim(name) = '' THEN
        RAISE EXCEPTION 'rag_create_api_key: the name must not be empty' USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF user_id IS NULL OR btrim(user_id) = '' OR user_id ~ '[[:cntrl:]]' THEN
        RAISE EXCEPTION 'rag_create_api_key: user_id must be a non-empty string without control characters'
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF tenant_id IS NOT NULL AND (btrim(tenant_id) = '' OR tenant_id ~ '[[:cntrl:]]') THEN
        RAISE EXCEPTION 'rag_create_api_key: tenant_id must be NULL or a non-empty string without control characters'
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF scopes IS NULL OR cardinality(scopes) = 0 OR array_position(scopes, NULL) IS NOT NULL
       OR NOT scopes <@ ARRAY['read', 'write', 'admin'] THEN
        RAISE EXCEPTION 'rag_create_api_key: scopes must be a non-empty list of read, write and admin, not %', scopes
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF expires IS NOT NULL AND expires <= now() THEN
        RAISE EXCEPTION 'rag_create_api_key: expires must be in the future' USING ERRCODE = 'invalid_parameter_value';
    END IF;
    -- gen_random_uuid draws 122 bits from pg_strong_random: three of them hashed give the 256-bit secret.
    key_prefix := substr(replace(gen_random_uuid()::text, '-', ''), 1, 12);
    key := 'prag_' || key_prefix || '_' || encode(sha256(convert_to(
        gen_random_uuid()::text || gen_random_uuid()::text || gen_random_uuid()::text, 'UTF8')), 'hex');
    INSERT INTO @extschema@.rag_api_keys (name, user_id, tenant_id, scopes, prefix, key_hash, expires_at)
    VALUES (btrim(rag_create_api_key.name), rag_create_api_key.user_id, rag_create_api_key.tenant_id,
            ARRAY(SELECT DISTINCT s FROM unnest(rag_create_api_key.scopes) s ORDER BY s), key_prefix,
            sha256(convert_to(key, 'UTF8')), expires);
    RETURN key;
END $$;

-- Revokes a key: true when it was valid until now. The server stops accepting it within seconds.
CREATE FUNCTION rag_revoke_api_key(id bigint) RETURNS boolean
    LANGUAGE plpgsql VOLATILE STRICT PARALLEL UNSAFE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    IF coalesce(current_setting('pg_rag.user_id', true), '') <> ''
       AND NOT coalesce(nullif(current_setting('pg_rag.user_admin', true), '')::boolean, false) THEN
        RAISE EXCEPTION 'rag_revoke_api_key: permission denied' USING ERRCODE = 'insufficient_privilege',
            HINT = 'Only admin callers may revoke API keys.';
    END IF;
    UPDATE @extschema@.rag_api_keys k SET revoked_at = now() WHERE k.id = rag_revoke_api_key.id AND k.revoked_at IS NULL;
    RETURN FOUND;
END $$;

-- The keys, never their hashes.
CREATE FUNCTION rag_api_keys()
RETURNS TABLE (id bigint, name text, user_id text, tenant_id text, scopes text[], prefix text,
               created_at timestamptz, last_used_at timestamptz, expires_at timestamptz, revoked_at timestamptz)
    LANGUAGE plpgsql STABLE PARALLEL SAFE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    IF coalesce(current_setting('pg_rag.user_id', true), '') <> ''
       AND NOT coalesce(nullif(current_setting('pg_rag.user_admin', true), '')::boolean, false) THEN
        RAISE EXCEPTION 'rag_api_keys: permission denied' USING ERRCODE = 'insufficient_privilege',
            HINT = 'Only admin callers may list API keys.';
    END IF;
    RETURN QUERY SELECT k.id, k.name, k.user_id, k.tenant_id, k.scopes, k.prefix, k.created_at, k.last_used_at,
                        k.expires_at, k.revoked_at
                 FROM @extschema@.rag_api_keys k ORDER BY k.id;
END $$;

-- For the server: who a key speaks for. No row for an unknown or malformed key; status 'valid',
-- 'revoked' or 'expired'. A hash lookup by index (no timing to learn from); last_used_at is written
-- at most once a minute per key.
CREATE FUNCTION rag_verify_api_key(key text)
RETURNS TABLE (user_id text, tenant_id text, scopes text[], key_id bigint, expires_at timestamptz, status text)
    LANGUAGE plpgsql VOLATILE STRICT PARALLEL UNSAFE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    k record;
BEGIN
    IF key !~ '^prag_[0-9a-f]{12}_[0-9a-f]{64}$' THEN
        RETURN;
    END IF;
    SELECT a.id, a.user_id, a.tenant_id, a.scopes, a.expires_at, a.revoked_at, a.last_used_at INTO k
    FROM @extschema@.rag_api_keys a WHERE a.key_hash = sha256(convert_to(key, 'UTF8'));
    IF NOT FOUND THEN
        RETURN;
    END IF;
    status := CASE WHEN k.revoked_at IS NOT NULL THEN 'revoked' WHEN k.expires_at <= now() THEN 'expired' ELSE 'valid' END;
    IF status = 'valid' AND (k.last_used_at IS NULL OR k.last_used_at < now() - interval '1 minute') THEN
        UPDATE @extschema@.rag_api_keys a SET last_used_at = now() WHERE a.id = k.id;
    END IF;
    user_id := k.user_id;
    tenant_id := k.tenant_id;
    scopes := k.scopes;
    key_id := k.id;
    expires_at := k.expires_at;
    RETURN NEXT;
END $$;

-- What the server's callers did: questions, answers (provider, model, tokens, latency), uploads,
-- deletes and failed sign-ins (user NULL, the client's address in detail).
CREATE TABLE rag_usage_events (
    id bigserial PRIMARY KEY,
    occurred_at timestamptz NOT NULL DEFAULT now(),
    event text NOT NULL CHECK (event IN ('question', 'answer', 'upload', 'delete', 'sign_in_failure')),
    user_id text,
    tenant_id text,
    key_id bigint,
    provider text,
    model text,
    prompt_tokens integer,
    completion_tokens integer,
    latency_ms integer,
    detail jsonb
);
CREATE INDEX rag_usage_events_occurred_idx ON rag_usage_events (occurred_at);
REVOKE ALL ON rag_usage_events FROM PUBLIC;
SELECT pg_catalog.pg_extension_config_dump('rag_usage_events', '');
SELECT pg_catalog.pg_extension_config_dump('rag_usage_events_id_seq', '');

-- For the server, which batches its events: a JSON array of {event, occurred_at, user_id, tenant_id,
-- key_id, provider, model, prompt_tokens, completion_tokens, latency_ms, detail}; returns how many.
CREATE FUNCTION rag_record_usage(events jsonb) RETURNS integer
    LANGUAGE sql VOLATILE STRICT PARALLEL UNSAFE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
    WITH added AS (
        INSERT INTO @extschema@.rag_usage_events (occurred_at, event, user_id, tenant_id, key_id, provider, model,
                                                  prompt_tokens, completion_tokens, latency_ms, detail)
        SELECT coalesce(e.occurred_at, now()), e.event, e.user_id, e.tenant_id, e.key_id, e.provider, e.model,
               e.prompt_tokens, e.completion_tokens, e.latency_ms, e.detail
        FROM jsonb_to_recordset($1) AS e(occurred_at timestamptz, event text, user_id text, tenant_id text,
                                         key_id bigint, provider text, model text, prompt_tokens integer,
                                         completion_tokens integer, latency_ms integer, detail jsonb)
        RETURNING 1)
    SELECT count(*)::integer FROM added
$$;

-- Usage by day (UTC) and user from since (NULL: 30 days ago) until before until (NULL: now on), of
-- for_user only when given. Called through the server on behalf of a caller who is not an admin, only
-- that caller's own rows.
CREATE FUNCTION rag_usage_summary(since timestamptz DEFAULT NULL, until timestamptz DEFAULT NULL,
                                  for_user text DEFAULT NULL)
RETURNS TABLE (day date, user_id text, tenant_id text, questions bigint, answers bigint, uploads bigint,
               deletes bigint, sign_in_failures bigint, prompt_tokens bigint, completion_tokens bigint,
               avg_latency_ms integer)
    LANGUAGE sql STABLE PARALLEL SAFE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
    SELECT (e.occurred_at AT TIME ZONE 'UTC')::date, e.user_id, e.tenant_id,
           count(*) FILTER (WHERE e.event = 'question'), count(*) FILTER (WHERE e.event = 'answer'),
           count(*) FILTER (WHERE e.event = 'upload'), count(*) FILTER (WHERE e.event = 'delete'),
           count(*) FILTER (WHERE e.event = 'sign_in_failure'), coalesce(sum(e.prompt_tokens), 0),
           coalesce(sum(e.completion_tokens), 0), round(avg(e.latency_ms) FILTER (WHERE e.event = 'answer'))::integer
    FROM @extschema@.rag_usage_events e
    WHERE e.occurred_at >= coalesce($1, now() - interval '30 days')
      AND ($2 IS NULL OR e.occurred_at < $2)
      AND ($3 IS NULL OR e.user_id = $3)
      AND (coalesce(current_setting('pg_rag.user_id', true), '') = ''
           OR coalesce(nullif(current_setting('pg_rag.user_admin', true), '')::boolean, false)
           OR e.user_id = current_setting('pg_rag.user_id', true))
    GROUP BY 1, 2, 3
    ORDER BY 1, 2 NULLS FIRST, 3 NULLS FIRST
$$;

-- Key management and usage are for superusers, the server's role and the roles an administrator
-- grants them to.
REVOKE ALL ON FUNCTION rag_create_api_key(text, text, text[], timestamptz, text) FROM PUBLIC;
REVOKE ALL ON FUNCTION rag_revoke_api_key(bigint) FROM PUBLIC;
REVOKE ALL ON FUNCTION rag_api_keys() FROM PUBLIC;
REVOKE ALL ON FUNCTION rag_verify_api_key(text) FROM PUBLIC;
REVOKE ALL ON FUNCTION rag_record_usage(jsonb) FROM PUBLIC;
REVOKE ALL ON FUNCTION rag_usage_summary(timestamptz, timestamptz, text) FROM PUBLIC;

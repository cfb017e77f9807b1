-- pg_rag 0.3.0: text extraction, chunking, the knowledge base and ingestion.
\echo Use "ALTER EXTENSION pg_rag UPDATE TO '0.3.0'" to load this file. \quit

-- Chunking and extraction ---------------------------------------------------------------------------

-- Not strict: NULL content gives no rows; NULL options mean their defaults (overlap: max_chars / 5).
CREATE FUNCTION rag_chunk(content text, max_chars integer DEFAULT 1000, overlap integer DEFAULT NULL,
                          strategy text DEFAULT 'recursive')
RETURNS TABLE (seq integer, content text, char_start integer, char_end integer, heading text)
    AS 'MODULE_PATHNAME', 'rag_chunk' LANGUAGE C IMMUTABLE PARALLEL SAFE ROWS 20;

CREATE FUNCTION rag_extract_text(content bytea, mime text DEFAULT NULL, filename text DEFAULT NULL) RETURNS text
    AS 'MODULE_PATHNAME', 'rag_extract_text' LANGUAGE C IMMUTABLE PARALLEL SAFE;

CREATE FUNCTION rag_guess_mime(filename text, content bytea DEFAULT NULL) RETURNS text
    AS 'MODULE_PATHNAME', 'rag_guess_mime' LANGUAGE C IMMUTABLE PARALLEL SAFE;

-- Depends on settings: stable.
CREATE FUNCTION rag_embedding_model() RETURNS text
    AS 'MODULE_PATHNAME', 'rag_embedding_model' LANGUAGE C STABLE PARALLEL SAFE;

-- The knowledge base ---------------------------------------------------------------------------------

CREATE TABLE rag_documents (
    id bigserial PRIMARY KEY,
    title text,
    source text,                          -- URI, file name or "table:schema.name:id"; unique when set
    mime text NOT NULL DEFAULT 'text/plain',
    content_hash bytea NOT NULL,          -- sha256 of content
    metadata jsonb NOT NULL DEFAULT '{}',
    content text NOT NULL,
    chunking jsonb NOT NULL,              -- the options the chunks were made with
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX rag_documents_source_key ON rag_documents (source) WHERE source IS NOT NULL;
CREATE INDEX rag_documents_metadata_idx ON rag_documents USING gin (metadata jsonb_path_ops);

CREATE TABLE rag_chunks (
    id bigserial PRIMARY KEY,
    document_id bigint NOT NULL REFERENCES rag_documents (id) ON DELETE CASCADE,
    seq integer NOT NULL,
    content text NOT NULL,
    char_start integer NOT NULL,          -- code point offsets into the document's content
    char_end integer NOT NULL,
    heading text,                         -- Markdown heading path, e.g. 'Install > Debian'
    embedding embedding,
    embedding_model text,                 -- rag_embedding_model() when embedded
    tsv tsvector NOT NULL,                -- title, heading and content, with pg_rag.text_search_config
    UNIQUE (document_id, seq)             -- also the index for lookups and cascades by document
);
CREATE INDEX rag_chunks_tsv_idx ON rag_chunks USING gin (tsv);

SELECT pg_catalog.pg_extension_config_dump('rag_documents', '');
SELECT pg_catalog.pg_extension_config_dump('rag_documents_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('rag_chunks', '');
SELECT pg_catalog.pg_extension_config_dump('rag_chunks_id_seq', '');

-- Ingestion -------------------------------------------------------------------------------------------

-- Chunks, embeds and stores a document in one transaction; returns its id. With a source, ingesting
-- again is incremental: the same content, chunking and embedding model change nothing and call no
-- provider; new content replaces the chunks and embeds only chunk texts that are new.
CREATE FUNCTION rag_ingest(title text, content text, metadata jsonb DEFAULT '{}', source text DEFAULT NULL,
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
    SELECT array_agg(c.seq ORDER BY c.seq), array_agg(c.content ORDER BY c.seq), array_agg(c.char_start ORDER BY c.seq),
           array_agg(c.char_end ORDER BY c.seq), array_agg(c.heading ORDER BY c.seq)
      INTO seqs, texts, starts, ends, headings
      FROM @extschema@.rag_chunk(content, max_chars, overlap, strategy) c;   -- validates the options first
    model := @extschema@.rag_embedding_model();
    config := coalesce(nullif(current_setting('pg_rag.text_search_config', true), ''), 'english')::regconfig;
    hash := sha256(convert_to(content, 'UTF8'));
    options := jsonb_build_object('max_chars', coalesce(max_chars, 1000), 'overlap', overlap,
                                  'strategy', coalesce(strategy, 'recursive'));
    metadata := coalesce(metadata, '{}');

    IF source IS NOT NULL THEN
        SELECT d.id, d.content_hash, d.chunking, d.title, d.metadata, d.mime INTO old
          FROM @extschema@.rag_documents d WHERE d.source = rag_ingest.source FOR UPDATE;
        doc_id := old.id;
    END IF;
    IF doc_id IS NOT NULL AND old.content_hash = hash AND old.chunking = options
       AND NOT EXISTS (SELECT 1 FROM @extschema@.rag_chunks c
                       WHERE c.document_id = doc_id AND c.embedding_model IS DISTINCT FROM model) THEN
        IF old.title IS DISTINCT FROM title OR old.metadata <> metadata OR old.mime <> mime THEN
            UPDATE @extschema@.rag_documents d SET title = rag_ingest.title, metadata = rag_ingest.metadata,
                   mime = rag_ingest.mime, updated_at = now() WHERE d.id = doc_id;
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
        INSERT INTO @extschema@.rag_documents (title, source, mime, content_hash, metadata, content, chunking)
        VALUES (title, source, mime, hash, metadata, content, options) RETURNING id INTO doc_id;
    ELSE
        UPDATE @extschema@.rag_documents d SET title = rag_ingest.title, mime = rag_ingest.mime, content_hash = hash,
               metadata = rag_ingest.metadata, content = rag_ingest.content, chunking = options, updated_at = now()
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

-- Extracts a file's text (type from mime or the file name) and ingests it; the file name is the
-- default title and source, so loading the same file again is incremental. Markdown and HTML
-- (whose headings extraction keeps) are chunked by headings unless a strategy is given.
CREATE FUNCTION rag_ingest_file(content bytea, filename text, metadata jsonb DEFAULT '{}', source text DEFAULT NULL,
                                max_chars integer DEFAULT 1000, overlap integer DEFAULT NULL,
                                strategy text DEFAULT NULL, mime text DEFAULT NULL)
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
        coalesce(metadata, '{}') || jsonb_build_object('filename', filename),
        coalesce(source, filename), max_chars, overlap,
        coalesce(strategy, CASE WHEN kind IN ('text/markdown', 'text/html') THEN 'markdown' ELSE 'recursive' END),
        kind);
END $$;

-- Deletes a document and (by cascade) its chunks; false when there was none.
CREATE FUNCTION rag_delete_document(id bigint) RETURNS boolean
LANGUAGE sql VOLATILE PARALLEL UNSAFE AS $$
    WITH gone AS (DELETE FROM @extschema@.rag_documents d WHERE d.id = $1 RETURNING 1)
    SELECT count(*) > 0 FROM gone
$$;

-- A table's schema-qualified name, whatever the search_path.
CREATE FUNCTION rag_table_name(tbl regclass) RETURNS text
LANGUAGE sql STABLE PARALLEL SAFE AS $$
    SELECT quote_ident(n.nspname) || '.' || quote_ident(c.relname)
    FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.oid = $1
$$;

-- The source a synced row gets: table:schema.table:id.
CREATE FUNCTION rag_row_source(tbl regclass, id text) RETURNS text
LANGUAGE sql STABLE PARALLEL SAFE AS $$
    SELECT 'table:' || @extschema@.rag_table_name($1) || ':' || $2
$$;

-- Ingests every row of a table (text, optional title, id columns) in this transaction, with a NOTICE
-- every pg_rag.progress_every rows; cancelling rolls all of it back. Returns rows ingested.
-- With a remote provider and the cache on, rows go in batches: the chunk texts of every new or
-- changed row of a batch are embedded in one rag_embed call (split and sent concurrently), which
-- fills the cache, so the per-row rag_ingest finds them there instead of making a request each.
CREATE FUNCTION rag_ingest_table(tbl regclass, text_column name, title_column name DEFAULT NULL,
                                 id_column name DEFAULT 'id', max_chars integer DEFAULT 1000,
                                 overlap integer DEFAULT NULL, strategy text DEFAULT 'recursive',
                                 batch_size integer DEFAULT 200)
RETURNS bigint LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE AS $$
DECLARE
    r record;
    done bigint := 0;
    total bigint;
    every integer := coalesce(nullif(current_setting('pg_rag.progress_every', true), '')::integer, 100);
    prefetch boolean := current_setting('pg_rag.embedding_provider', true) IS DISTINCT FROM 'local'
                        AND coalesce(current_setting('pg_rag.embedding_cache', true), 'on') = 'on';
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
                                                   done, total, every);
        ids := '{}'; bodies := '{}'; titles := '{}';
    END LOOP;
    IF cardinality(ids) > 0 THEN
        done := done + @extschema@.rag_ingest_rows(tbl, ids, bodies, titles, max_chars, overlap, strategy, prefetch,
                                                   done, total, every);
    END IF;
    RETURN done;
END $$;

-- One batch of rag_ingest_table: prefetches the embeddings of new or changed rows, then ingests each.
CREATE FUNCTION rag_ingest_rows(tbl regclass, ids text[], bodies text[], titles text[], max_chars integer,
                                overlap integer, strategy text, prefetch boolean, done_before bigint,
                                total bigint, every integer)
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
                                  AND d.content_hash = sha256(convert_to(b.body, 'UTF8')))));
    END IF;
    FOR i IN 1 .. cardinality(ids) LOOP
        PERFORM @extschema@.rag_ingest(titles[i], bodies[i],
                                       jsonb_build_object('source_table', @extschema@.rag_table_name(tbl),
                                                          'source_id', ids[i]),
                                       @extschema@.rag_row_source(tbl, ids[i]), max_chars, overlap, strategy);
        IF every > 0 AND (done_before + i) % every = 0 THEN
            RAISE NOTICE 'rag_ingest_table: % of % rows of % ingested', done_before + i, total, tbl;
        END IF;
    END LOOP;
    RETURN cardinality(ids);
END $$;

-- Checks that the named columns exist (NULL names are skipped), with a clear error.
CREATE FUNCTION rag_check_columns(tbl regclass, columns name[]) RETURNS void
LANGUAGE plpgsql STABLE PARALLEL SAFE AS $$
DECLARE col name;
BEGIN
    FOREACH col IN ARRAY columns LOOP
        IF col IS NOT NULL AND NOT EXISTS (SELECT 1 FROM pg_attribute a WHERE a.attrelid = tbl AND a.attname = col
                                           AND a.attnum > 0 AND NOT a.attisdropped) THEN
            RAISE EXCEPTION 'column "%" of % does not exist', col, tbl USING ERRCODE = 'undefined_column';
        END IF;
    END LOOP;
END $$;

-- The trigger behind rag_sync_table: arguments are the text, title ('' for none) and id columns.
-- It runs as the extension's owner (SECURITY DEFINER, fixed search_path) so that anyone allowed to
-- write the synced table keeps the knowledge base in step without privileges on it.
CREATE FUNCTION rag_sync_trigger() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = @extschema@, pg_catalog, pg_temp AS $$
DECLARE
    text_column text := TG_ARGV[0];
    title_column text := nullif(TG_ARGV[1], '');
    id_column text := TG_ARGV[2];
    tbl regclass := TG_RELID;
    new_row jsonb;
    old_row jsonb;
BEGIN
    IF TG_OP = 'TRUNCATE' THEN
        DELETE FROM @extschema@.rag_documents WHERE starts_with(source, @extschema@.rag_row_source(tbl, ''));
        RETURN NULL;
    END IF;
    IF TG_OP IN ('UPDATE', 'DELETE') THEN old_row := to_jsonb(OLD); END IF;
    IF TG_OP IN ('INSERT', 'UPDATE') THEN new_row := to_jsonb(NEW); END IF;
    IF old_row IS NOT NULL AND (new_row IS NULL OR new_row ->> id_column IS DISTINCT FROM old_row ->> id_column
                                OR new_row ->> text_column IS NULL) THEN
        DELETE FROM @extschema@.rag_documents WHERE source = @extschema@.rag_row_source(tbl, old_row ->> id_column);
    END IF;
    IF new_row IS NOT NULL AND new_row ->> text_column IS NOT NULL THEN
        PERFORM @extschema@.rag_ingest(
            CASE WHEN title_column IS NULL THEN NULL ELSE new_row ->> title_column END, new_row ->> text_column,
            jsonb_build_object('source_table', @extschema@.rag_table_name(tbl), 'source_id', new_row ->> id_column),
            @extschema@.rag_row_source(tbl, new_row ->> id_column));
    END IF;
    RETURN NULL;
END $$;

-- Drops the sync triggers of a table, if any (quietly: no "does not exist" notices).
CREATE FUNCTION rag_drop_sync_triggers(tbl regclass) RETURNS void
LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE AS $$
DECLARE t name;
BEGIN
    FOR t IN SELECT tgname FROM pg_trigger WHERE tgrelid = tbl AND tgname IN ('rag_sync', 'rag_sync_truncate') LOOP
        EXECUTE format('DROP TRIGGER %I ON %s', t, tbl);
    END LOOP;
END $$;

-- Keeps a table of your own in the knowledge base: ingests its rows now, then triggers follow every
-- insert, update of the text/title/id columns, delete and truncate. A write while the embedding
-- provider fails raises the provider's error and the write rolls back: nothing is lost or half-done.
CREATE FUNCTION rag_sync_table(tbl regclass, text_column name, title_column name DEFAULT NULL,
                               id_column name DEFAULT 'id')
RETURNS bigint LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE AS $$
DECLARE
    columns text;
BEGIN
    PERFORM @extschema@.rag_check_columns(tbl, ARRAY[text_column, title_column, id_column]);
    columns := concat_ws(', ', quote_ident(text_column), quote_ident(title_column), quote_ident(id_column));
    PERFORM @extschema@.rag_drop_sync_triggers(tbl);
    EXECUTE format('CREATE TRIGGER rag_sync AFTER INSERT OR DELETE OR UPDATE OF %s ON %s FOR EACH ROW '
                   'EXECUTE FUNCTION @extschema@.rag_sync_trigger(%L, %L, %L)',
                   columns, tbl, text_column, coalesce(title_column, ''), id_column);
    EXECUTE format('CREATE TRIGGER rag_sync_truncate AFTER TRUNCATE ON %s FOR EACH STATEMENT '
                   'EXECUTE FUNCTION @extschema@.rag_sync_trigger(%L, %L, %L)',
                   tbl, text_column, coalesce(title_column, ''), id_column);
    RETURN @extschema@.rag_ingest_table(tbl, text_column, title_column, id_column);
END $$;

-- Stops syncing a table; its documents stay unless delete_documents is true.
CREATE FUNCTION rag_unsync_table(tbl regclass, delete_documents boolean DEFAULT false)
RETURNS bigint LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE AS $$
DECLARE n bigint := 0;
BEGIN
    PERFORM @extschema@.rag_drop_sync_triggers(tbl);
    IF delete_documents THEN
        WITH gone AS (DELETE FROM @extschema@.rag_documents
                      WHERE starts_with(source, @extschema@.rag_row_source(tbl, '')) RETURNING 1)
        SELECT count(*) INTO n FROM gone;
    END IF;
    RETURN n;
END $$;

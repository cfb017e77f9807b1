-- pg_rag 0.9.0, complete: every object in its current form. A fresh CREATE EXTENSION runs this file;
-- an existing install reaches the same state through pg_rag--0.1.0.sql and the pg_rag--A--B.sql
-- upgrades (tests/regress/sql/upgrade.sql checks that both give identical members, definitions,
-- privileges and pg_dump registrations). A change to the extension goes into the next upgrade script
-- AND here.
\echo Use "CREATE EXTENSION pg_rag" to load this file. \quit

-- The type -----------------------------------------------------------------------------------------

CREATE TYPE embedding;

CREATE FUNCTION embedding_in(cstring, oid, integer) RETURNS embedding
    AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION embedding_out(embedding) RETURNS cstring
    AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION embedding_typmod_in(cstring[]) RETURNS integer
    AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION embedding_typmod_out(integer) RETURNS cstring
    AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION embedding_recv(internal, oid, integer) RETURNS embedding
    AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION embedding_send(embedding) RETURNS bytea
    AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

-- STORAGE main: values stay inline in the heap page whenever they fit (up to ~2000 dimensions), so a
-- scan never fetches them out of line; pglz compression is tried only as a last resort and gives up
-- quickly on float data, so nothing is decompressed on read. See bench/README.md for the measurement.
CREATE TYPE embedding (
    INPUT = embedding_in,
    OUTPUT = embedding_out,
    TYPMOD_IN = embedding_typmod_in,
    TYPMOD_OUT = embedding_typmod_out,
    RECEIVE = embedding_recv,
    SEND = embedding_send,
    STORAGE = main
);

-- Typmod coercion and casts --------------------------------------------------------------------------

CREATE FUNCTION embedding(embedding, integer, boolean) RETURNS embedding
    AS 'MODULE_PATHNAME', 'embedding_typmod_cast' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE CAST (embedding AS embedding) WITH FUNCTION embedding(embedding, integer, boolean) AS IMPLICIT;

CREATE FUNCTION array_to_embedding(integer[], integer, boolean) RETURNS embedding
    AS 'MODULE_PATHNAME', 'array_to_embedding' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION array_to_embedding(real[], integer, boolean) RETURNS embedding
    AS 'MODULE_PATHNAME', 'array_to_embedding' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION array_to_embedding(double precision[], integer, boolean) RETURNS embedding
    AS 'MODULE_PATHNAME', 'array_to_embedding' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION array_to_embedding(numeric[], integer, boolean) RETURNS embedding
    AS 'MODULE_PATHNAME', 'array_to_embedding' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION embedding_to_float4(embedding, integer, boolean) RETURNS real[]
    AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION embedding_to_float8(embedding, integer, boolean) RETURNS double precision[]
    AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION embedding_to_numeric(embedding, integer, boolean) RETURNS numeric[]
    AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE CAST (integer[] AS embedding) WITH FUNCTION array_to_embedding(integer[], integer, boolean) AS ASSIGNMENT;
CREATE CAST (real[] AS embedding) WITH FUNCTION array_to_embedding(real[], integer, boolean) AS ASSIGNMENT;
CREATE CAST (double precision[] AS embedding)
    WITH FUNCTION array_to_embedding(double precision[], integer, boolean) AS ASSIGNMENT;
CREATE CAST (numeric[] AS embedding) WITH FUNCTION array_to_embedding(numeric[], integer, boolean) AS ASSIGNMENT;
CREATE CAST (embedding AS real[]) WITH FUNCTION embedding_to_float4(embedding, integer, boolean) AS ASSIGNMENT;
CREATE CAST (embedding AS double precision[])
    WITH FUNCTION embedding_to_float8(embedding, integer, boolean) AS ASSIGNMENT;
CREATE CAST (embedding AS numeric[]) WITH FUNCTION embedding_to_numeric(embedding, integer, boolean) AS ASSIGNMENT;

-- Distances and vector functions --------------------------------------------------------------------

CREATE FUNCTION l2_distance(embedding, embedding) RETURNS double precision
    AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION cosine_distance(embedding, embedding) RETURNS double precision
    AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION inner_product(embedding, embedding) RETURNS double precision
    AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION negative_inner_product(embedding, embedding) RETURNS double precision
    AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION l1_distance(embedding, embedding) RETURNS double precision
    AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION l2_norm(embedding) RETURNS double precision
    AS 'MODULE_PATHNAME', 'embedding_l2_norm' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION l2_normalize(embedding) RETURNS embedding
    AS 'MODULE_PATHNAME', 'embedding_l2_normalize' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION dims(embedding) RETURNS integer
    AS 'MODULE_PATHNAME', 'embedding_dims' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

-- The kernel path this backend uses; it can change with SET pg_rag.kernel, hence STABLE.
CREATE FUNCTION rag_kernel_info() RETURNS text
    AS 'MODULE_PATHNAME' LANGUAGE C STABLE STRICT PARALLEL SAFE;

CREATE FUNCTION embedding_add(embedding, embedding) RETURNS embedding
    AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION embedding_sub(embedding, embedding) RETURNS embedding
    AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION embedding_mul(embedding, embedding) RETURNS embedding
    AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE OPERATOR <-> (LEFTARG = embedding, RIGHTARG = embedding, FUNCTION = l2_distance, COMMUTATOR = '<->');
CREATE OPERATOR <=> (LEFTARG = embedding, RIGHTARG = embedding, FUNCTION = cosine_distance, COMMUTATOR = '<=>');
CREATE OPERATOR <#> (LEFTARG = embedding, RIGHTARG = embedding, FUNCTION = negative_inner_product,
                     COMMUTATOR = '<#>');
CREATE OPERATOR <+> (LEFTARG = embedding, RIGHTARG = embedding, FUNCTION = l1_distance, COMMUTATOR = '<+>');
CREATE OPERATOR + (LEFTARG = embedding, RIGHTARG = embedding, FUNCTION = embedding_add, COMMUTATOR = +);
CREATE OPERATOR - (LEFTARG = embedding, RIGHTARG = embedding, FUNCTION = embedding_sub);
CREATE OPERATOR * (LEFTARG = embedding, RIGHTARG = embedding, FUNCTION = embedding_mul, COMMUTATOR = *);

-- Aggregates ------------------------------------------------------------------------------------------

CREATE FUNCTION embedding_accum(double precision[], embedding) RETURNS double precision[]
    AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION embedding_combine(double precision[], double precision[]) RETURNS double precision[]
    AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION embedding_avg(double precision[]) RETURNS embedding
    AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION embedding_sum(double precision[]) RETURNS embedding
    AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE AGGREGATE avg(embedding) (
    SFUNC = embedding_accum, STYPE = double precision[], FINALFUNC = embedding_avg,
    COMBINEFUNC = embedding_combine, INITCOND = '{0}', PARALLEL = SAFE
);
CREATE AGGREGATE sum(embedding) (
    SFUNC = embedding_accum, STYPE = double precision[], FINALFUNC = embedding_sum,
    COMBINEFUNC = embedding_combine, INITCOND = '{0}', PARALLEL = SAFE
);

-- Comparison: equality, btree and hash operator classes (DISTINCT, GROUP BY, unique indexes) ------------

CREATE FUNCTION embedding_lt(embedding, embedding) RETURNS boolean
    AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION embedding_le(embedding, embedding) RETURNS boolean
    AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION embedding_eq(embedding, embedding) RETURNS boolean
    AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION embedding_ne(embedding, embedding) RETURNS boolean
    AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION embedding_ge(embedding, embedding) RETURNS boolean
    AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION embedding_gt(embedding, embedding) RETURNS boolean
    AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION embedding_cmp(embedding, embedding) RETURNS integer
    AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION embedding_hash(embedding) RETURNS integer
    AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE OPERATOR < (LEFTARG = embedding, RIGHTARG = embedding, PROCEDURE = embedding_lt,
    COMMUTATOR = >, NEGATOR = >=, RESTRICT = scalarltsel, JOIN = scalarltjoinsel);
CREATE OPERATOR <= (LEFTARG = embedding, RIGHTARG = embedding, PROCEDURE = embedding_le,
    COMMUTATOR = >=, NEGATOR = >, RESTRICT = scalarlesel, JOIN = scalarlejoinsel);
CREATE OPERATOR = (LEFTARG = embedding, RIGHTARG = embedding, PROCEDURE = embedding_eq,
    COMMUTATOR = =, NEGATOR = <>, RESTRICT = eqsel, JOIN = eqjoinsel, HASHES, MERGES);
CREATE OPERATOR <> (LEFTARG = embedding, RIGHTARG = embedding, PROCEDURE = embedding_ne,
    COMMUTATOR = <>, NEGATOR = =, RESTRICT = neqsel, JOIN = neqjoinsel);
CREATE OPERATOR >= (LEFTARG = embedding, RIGHTARG = embedding, PROCEDURE = embedding_ge,
    COMMUTATOR = <=, NEGATOR = <, RESTRICT = scalargesel, JOIN = scalargejoinsel);
CREATE OPERATOR > (LEFTARG = embedding, RIGHTARG = embedding, PROCEDURE = embedding_gt,
    COMMUTATOR = <, NEGATOR = <=, RESTRICT = scalargtsel, JOIN = scalargtjoinsel);

CREATE OPERATOR CLASS embedding_ops DEFAULT FOR TYPE embedding USING btree AS
    OPERATOR 1 <, OPERATOR 2 <=, OPERATOR 3 =, OPERATOR 4 >=, OPERATOR 5 >,
    FUNCTION 1 embedding_cmp(embedding, embedding);
CREATE OPERATOR CLASS embedding_hash_ops DEFAULT FOR TYPE embedding USING hash AS
    OPERATOR 1 =, FUNCTION 1 embedding_hash(embedding);


-- == Settings and input checks ====================================================================

-- The effective value of a pg_rag.* setting from its C definition (numbers in base units without a unit,
-- booleans on/off), so no SQL repeats a default; calling it also loads the library that defines them.
CREATE FUNCTION rag_setting(name text) RETURNS text
    AS 'MODULE_PATHNAME', 'rag_setting' LANGUAGE C STABLE STRICT PARALLEL SAFE;

-- Document metadata as stored: NULL and JSON null mean none ('{}'); anything but an object is refused.
CREATE FUNCTION rag_check_metadata(metadata jsonb, caller text) RETURNS jsonb
LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE AS $$
BEGIN
    IF metadata IS NULL OR jsonb_typeof(metadata) = 'null' THEN
        RETURN '{}';
    END IF;
    IF jsonb_typeof(metadata) <> 'object' THEN
        RAISE EXCEPTION '%: metadata must be a JSON object, not %', caller, jsonb_typeof(metadata)
            USING ERRCODE = 'invalid_parameter_value', HINT = 'Pass NULL or ''{}'' for no metadata.';
    END IF;
    RETURN metadata;
END $$;


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



-- == Provider keys ================================================================================

-- API keys are not settings (a placeholder setting is readable by anyone, and pg_db_role_setting shows
-- per-database values to everyone): they live in this owner-only table, each bound to the base URL it
-- may be sent to. Deliberately not registered with pg_extension_config_dump: pg_dump never writes keys.
CREATE TABLE rag_provider_keys (
    provider text NOT NULL CHECK (provider IN ('openai', 'ollama', 'gemini', 'anthropic')),
    base_url text NOT NULL,
    api_key text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (provider, base_url)
);
REVOKE ALL ON rag_provider_keys FROM PUBLIC;

-- Stores (or replaces) the key of provider bound to base_url (NULL: the provider's default URL); the
-- key is only ever sent to that URL or paths below it. Superuser only.
CREATE FUNCTION rag_set_provider_key(provider text, api_key text, base_url text DEFAULT NULL) RETURNS void
    LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    url text := rtrim(coalesce(base_url, CASE provider
        WHEN 'openai' THEN 'https://api.openai.com/v1'
        WHEN 'ollama' THEN 'http://127.0.0.1:11434'
        WHEN 'gemini' THEN 'https://generativelanguage.googleapis.com'
        WHEN 'anthropic' THEN 'https://api.anthropic.com' END), '/');
BEGIN
    IF NOT (SELECT rolsuper FROM pg_roles WHERE oid = current_user::regrole) THEN
        RAISE EXCEPTION 'rag_set_provider_key: permission denied' USING ERRCODE = 'insufficient_privilege',
            HINT = 'Only superusers may store provider API keys.';
    END IF;
    IF provider IS NULL OR provider NOT IN ('openai', 'ollama', 'gemini', 'anthropic') THEN
        RAISE EXCEPTION 'rag_set_provider_key: unknown provider "%"', provider USING ERRCODE = 'invalid_parameter_value',
            HINT = 'Keys are kept for openai, ollama, gemini and anthropic.';
    END IF;
    IF api_key IS NULL OR api_key = '' OR api_key ~ '[[:cntrl:]]' THEN
        -- A control character would let the key inject headers into the request.
        RAISE EXCEPTION 'rag_set_provider_key: the key must be a non-empty string without control characters'
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF url !~* '^https?://[^/?#@[:space:]]+(/[^?#[:space:]]*)?$' OR url ~* '/(\.|%2e){1,2}(/|$)' THEN
        RAISE EXCEPTION 'rag_set_provider_key: invalid base URL "%"', url USING ERRCODE = 'invalid_parameter_value',
            HINT = 'An http:// or https:// URL without user info, query, fragment or "."/".." segments.';
    END IF;
    INSERT INTO @extschema@.rag_provider_keys AS k (provider, base_url, api_key) VALUES (provider, url, api_key)
        ON CONFLICT ON CONSTRAINT rag_provider_keys_pkey DO UPDATE SET api_key = excluded.api_key, created_at = now();
END
$$;

-- Deletes the key of provider bound to base_url (NULL: the provider's default URL); true when one was
-- deleted. Superuser only.
CREATE FUNCTION rag_delete_provider_key(provider text, base_url text DEFAULT NULL) RETURNS boolean
    LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    url text := rtrim(coalesce(base_url, CASE provider
        WHEN 'openai' THEN 'https://api.openai.com/v1'
        WHEN 'ollama' THEN 'http://127.0.0.1:11434'
        WHEN 'gemini' THEN 'https://generativelanguage.googleapis.com'
        WHEN 'anthropic' THEN 'https://api.anthropic.com' END), '/');
BEGIN
    IF NOT (SELECT rolsuper FROM pg_roles WHERE oid = current_user::regrole) THEN
        RAISE EXCEPTION 'rag_delete_provider_key: permission denied' USING ERRCODE = 'insufficient_privilege',
            HINT = 'Only superusers may manage provider API keys.';
    END IF;
    DELETE FROM @extschema@.rag_provider_keys k WHERE k.provider = rag_delete_provider_key.provider AND k.base_url = url;
    RETURN FOUND;
END
$$;

-- The stored keys' providers and bound URLs, never the keys. Superuser only.
CREATE FUNCTION rag_provider_keys() RETURNS TABLE (provider text, base_url text, created_at timestamptz)
    LANGUAGE plpgsql STABLE PARALLEL SAFE SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    IF NOT (SELECT rolsuper FROM pg_roles WHERE oid = current_user::regrole) THEN
        RAISE EXCEPTION 'rag_provider_keys: permission denied' USING ERRCODE = 'insufficient_privilege',
            HINT = 'Only superusers may list provider API keys.';
    END IF;
    RETURN QUERY SELECT k.provider, k.base_url, k.created_at FROM @extschema@.rag_provider_keys k
        ORDER BY k.provider, k.base_url;
END
$$;

REVOKE ALL ON FUNCTION rag_set_provider_key(text, text, text) FROM PUBLIC;
REVOKE ALL ON FUNCTION rag_delete_provider_key(text, text) FROM PUBLIC;
REVOKE ALL ON FUNCTION rag_provider_keys() FROM PUBLIC;


-- == Embeddings from SQL ==========================================================================

-- Embeddings already paid for, keyed by provider, endpoint (base URL), model, requested dimensions and
-- the text's SHA-256: vectors from a server a role chose are never served to another endpoint's callers.
-- Written and read by rag_embed() as the table's owner; other roles have no direct access.
-- (endpoint is the last column, as in an install upgraded from 0.5.0.)
CREATE TABLE rag_embedding_cache (
    provider text NOT NULL,
    model text NOT NULL,
    dims integer NOT NULL,
    text_hash bytea NOT NULL,
    embedding embedding NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    endpoint text NOT NULL,
    PRIMARY KEY (provider, endpoint, model, dims, text_hash)
);
REVOKE ALL ON rag_embedding_cache FROM PUBLIC;
SELECT pg_catalog.pg_extension_config_dump('rag_embedding_cache', '');

-- Volatile and parallel-unsafe: it may call a provider and writes the cache. Not strict: a NULL
-- model or provider means "the configured one"; a NULL input gives NULL.
CREATE FUNCTION rag_embed(input text, model text DEFAULT NULL, provider text DEFAULT NULL) RETURNS embedding
    AS 'MODULE_PATHNAME', 'rag_embed_text' LANGUAGE C VOLATILE PARALLEL UNSAFE;
CREATE FUNCTION rag_embed(input text[], model text DEFAULT NULL, provider text DEFAULT NULL) RETURNS embedding[]
    AS 'MODULE_PATHNAME', 'rag_embed_array' LANGUAGE C VOLATILE PARALLEL UNSAFE;

-- The built-in embedder alone: a pure function of its arguments, usable in generated columns and indexes.
CREATE FUNCTION rag_embed_local(input text, dims integer DEFAULT 384) RETURNS embedding
    AS 'MODULE_PATHNAME', 'rag_embed_local' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

-- This backend's counters; backend-local state, so it runs in the leader only.
CREATE FUNCTION rag_embedding_stats(OUT requests bigint, OUT retries bigint, OUT texts_embedded bigint,
                                    OUT cache_hits bigint, OUT cache_misses bigint) RETURNS record
    AS 'MODULE_PATHNAME', 'rag_embedding_stats' LANGUAGE C VOLATILE PARALLEL RESTRICTED;

-- Empties the cache (all of it, or one provider/model); needs DELETE on it (the owner, a superuser).
CREATE FUNCTION rag_clear_embedding_cache(provider text DEFAULT NULL, model text DEFAULT NULL) RETURNS bigint
LANGUAGE sql VOLATILE PARALLEL UNSAFE AS $$
    WITH gone AS (
        DELETE FROM @extschema@.rag_embedding_cache c
        WHERE ($1 IS NULL OR c.provider = $1) AND ($2 IS NULL OR c.model = $2)
        RETURNING 1)
    SELECT count(*) FROM gone
$$;

-- Fills an embedding column of any table in batches: one provider request per batch, not per row.
-- Runs with the caller's privileges; identifiers are quoted. Returns the number of rows updated.
CREATE FUNCTION rag_embed_table(tbl regclass, text_column name, embedding_column name,
                                only_missing boolean DEFAULT true, batch_size integer DEFAULT 1000)
RETURNS bigint LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE AS $$
DECLARE
    rows_done bigint := 0;
    ids tid[];
    texts text[];
    embeddings @extschema@.embedding[];
    r record;
BEGIN
    IF batch_size IS NULL OR batch_size < 1 THEN
        RAISE EXCEPTION 'batch_size must be at least 1' USING ERRCODE = 'invalid_parameter_value';
    END IF;
    ids := '{}'; texts := '{}';
    FOR r IN EXECUTE format('SELECT ctid AS id, %I::text AS body FROM %s WHERE %I IS NOT NULL %s',
                            text_column, tbl, text_column,
                            CASE WHEN only_missing THEN format('AND %I IS NULL', embedding_column) ELSE '' END)
    LOOP
        ids := ids || r.id; texts := texts || r.body;
        IF cardinality(ids) >= batch_size THEN
            embeddings := @extschema@.rag_embed(texts);
            EXECUTE format('UPDATE %s t SET %I = u.e FROM unnest($1, $2) u(id, e) WHERE t.ctid = u.id', tbl, embedding_column)
                USING ids, embeddings;
            rows_done := rows_done + cardinality(ids);
            ids := '{}'; texts := '{}';
        END IF;
    END LOOP;
    IF cardinality(ids) > 0 THEN
        embeddings := @extschema@.rag_embed(texts);
        EXECUTE format('UPDATE %s t SET %I = u.e FROM unnest($1, $2) u(id, e) WHERE t.ctid = u.id', tbl, embedding_column)
            USING ids, embeddings;
        rows_done := rows_done + cardinality(ids);
    END IF;
    RETURN rows_done;
END $$;


-- == Chunking and extraction ======================================================================

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


-- == The knowledge base ===========================================================================

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
    updated_at timestamptz NOT NULL DEFAULT now(),
    owner_id text,                        -- NULL: the shared knowledge base; else its user (rag_current_user())
    tenant_id text                        -- NULL: any tenant
);
-- A source names one document of its owner (and tenant): users never collide, nor learn of each other.
CREATE UNIQUE INDEX rag_documents_source_key ON rag_documents (source, owner_id, tenant_id) NULLS NOT DISTINCT
    WHERE source IS NOT NULL;
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
    token_count integer NOT NULL DEFAULT 0,  -- tokens in tsv (all positions), for BM25; set by a trigger
    owner_id text,                        -- its document's, set by a trigger (for row-level security and
    tenant_id text,                       -- for the search copies to filter without a join)
    UNIQUE (document_id, seq)             -- also the index for lookups and cascades by document
);
CREATE INDEX rag_chunks_tsv_idx ON rag_chunks USING gin (tsv);

SELECT pg_catalog.pg_extension_config_dump('rag_documents', '');
SELECT pg_catalog.pg_extension_config_dump('rag_documents_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('rag_chunks', '');
SELECT pg_catalog.pg_extension_config_dump('rag_chunks_id_seq', '');

-- BM25 needs each chunk's length in tokens (all positions, not distinct lexemes).
CREATE FUNCTION rag_count_tokens() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    NEW.token_count := (SELECT coalesce(sum(coalesce(array_length(u.positions, 1), 1)), 0) FROM unnest(NEW.tsv) u);
    RETURN NEW;
END $$;
CREATE TRIGGER rag_count_tokens BEFORE INSERT OR UPDATE OF tsv ON rag_chunks
    FOR EACH ROW EXECUTE FUNCTION rag_count_tokens();

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


-- == Change tracking ==============================================================================

-- Change log: every statement that changes documents or chunks adds a row (transactionally, no shared
-- row to lock), so caches keyed on rag_kb_version() see exactly the changes their snapshot sees.
CREATE TABLE rag_kb_changes (id bigserial PRIMARY KEY, changed_at timestamptz NOT NULL DEFAULT now());
REVOKE ALL ON rag_kb_changes FROM PUBLIC;

CREATE FUNCTION rag_note_change() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = @extschema@, pg_catalog, pg_temp AS $$
DECLARE new_id bigint;
BEGIN
    INSERT INTO @extschema@.rag_kb_changes DEFAULT VALUES RETURNING id INTO new_id;
    IF new_id % 100 = 0 THEN   -- keep the log short; a version only needs recent rows to change
        DELETE FROM @extschema@.rag_kb_changes WHERE id < new_id - 100;
    END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER rag_note_change AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON rag_documents
    FOR EACH STATEMENT EXECUTE FUNCTION rag_note_change();
CREATE TRIGGER rag_note_change AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON rag_chunks
    FOR EACH STATEMENT EXECUTE FUNCTION rag_note_change();

-- As in 0.7.0 on one node. Distributed, the change-log triggers run on the shards and write each
-- worker's rag_kb_changes: on the coordinator the version is its own with every worker's (read
-- committed, over Citus' own connections: a transaction's uncommitted writes change it at commit).
-- Parallel restricted: distributed, it asks the workers.
CREATE FUNCTION rag_kb_version() RETURNS text LANGUAGE plpgsql STABLE PARALLEL RESTRICTED SECURITY DEFINER
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

-- Which chunks each transaction added, changed or removed, so that every backend can bring its
-- in-memory copies (vectors, BM25 index) up to the state its snapshot sees by re-reading just those
-- chunks. Written by statement-level triggers (transition tables); chunk_ids NULL means "all" (TRUNCATE).
CREATE TABLE rag_chunk_changes (
    id bigserial PRIMARY KEY,
    xid xid8 NOT NULL DEFAULT pg_current_xact_id(),
    chunk_ids bigint[]
);
CREATE INDEX rag_chunk_changes_xid_idx ON rag_chunk_changes (xid);
REVOKE ALL ON rag_chunk_changes FROM PUBLIC;
-- Every log row of a transaction older than pruned_before has been deleted: a backend whose last
-- synchronised snapshot is older than that cannot know what it missed, and reloads.
CREATE TABLE rag_chunk_changes_horizon (pruned_before xid8 NOT NULL);
INSERT INTO rag_chunk_changes_horizon VALUES ('0');
REVOKE ALL ON rag_chunk_changes_horizon FROM PUBLIC;

CREATE FUNCTION rag_log_chunk_changes() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = @extschema@, pg_catalog, pg_temp AS $$
DECLARE
    new_id bigint;
    horizon xid8;
BEGIN
    IF TG_OP = 'INSERT' THEN
        INSERT INTO @extschema@.rag_chunk_changes (chunk_ids)
        SELECT array_agg(n.id) FROM new_rows n HAVING count(*) > 0 RETURNING id INTO new_id;
    ELSIF TG_OP = 'DELETE' THEN
        INSERT INTO @extschema@.rag_chunk_changes (chunk_ids)
        SELECT array_agg(o.id) FROM old_rows o HAVING count(*) > 0 RETURNING id INTO new_id;
    ELSIF TG_OP = 'UPDATE' THEN
        INSERT INTO @extschema@.rag_chunk_changes (chunk_ids)
        SELECT array_agg(DISTINCT x.id) FROM (SELECT o.id FROM old_rows o UNION ALL SELECT n.id FROM new_rows n) x
        HAVING count(*) > 0 RETURNING id INTO new_id;
    ELSE  -- TRUNCATE
        INSERT INTO @extschema@.rag_chunk_changes (chunk_ids) VALUES (NULL) RETURNING id INTO new_id;
    END IF;
    IF new_id % 1000 = 0 THEN
        -- Keep about the last 10 000 rows, never those of a transaction some snapshot still waits for.
        -- Pruning is optional: when another session is pruning, or under a serialization conflict, skip it.
        BEGIN
            PERFORM 1 FROM @extschema@.rag_chunk_changes_horizon FOR UPDATE NOWAIT;
            horizon := least((SELECT c.xid FROM @extschema@.rag_chunk_changes c ORDER BY c.id DESC OFFSET 10000 LIMIT 1),
                             pg_snapshot_xmin(pg_current_snapshot()));
            IF horizon IS NOT NULL THEN
                UPDATE @extschema@.rag_chunk_changes_horizon SET pruned_before = greatest(pruned_before, horizon);
                DELETE FROM @extschema@.rag_chunk_changes c WHERE c.xid < horizon;
            END IF;
        EXCEPTION WHEN lock_not_available OR serialization_failure THEN
            NULL;
        END;
    END IF;
    RETURN NULL;
END $$;
-- (transition tables allow one event per trigger)
CREATE TRIGGER rag_log_chunk_insert AFTER INSERT ON rag_chunks REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION rag_log_chunk_changes();
CREATE TRIGGER rag_log_chunk_update AFTER UPDATE ON rag_chunks REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION rag_log_chunk_changes();
CREATE TRIGGER rag_log_chunk_delete AFTER DELETE ON rag_chunks REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION rag_log_chunk_changes();
CREATE TRIGGER rag_log_chunk_truncate AFTER TRUNCATE ON rag_chunks
    FOR EACH STATEMENT EXECUTE FUNCTION rag_log_chunk_changes();


-- == Ingestion ====================================================================================

-- rag_ingest_document as in 0.7.0, with two changes that let it run on a Citus coordinator (and change
-- nothing on one node): the chunks get their document's owner and tenant in the INSERT (on shards no
-- trigger may read rag_documents), and a source's document is found under an advisory lock on
-- (source, owner, tenant) instead of FOR UPDATE and the unique index (Citus allows neither across shards).
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


-- Citus plans no distributed query inside an SQL function with parameters: rag_delete_document and
-- both rag_search as PL/pgSQL, with the same statements, results and markings (and the same on one node).
CREATE FUNCTION rag_delete_document(id bigint) RETURNS boolean
LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE AS $$
DECLARE gone bigint;
BEGIN
    PERFORM @extschema@.rag_propagate_identity();
    DELETE FROM @extschema@.rag_documents d WHERE d.id = rag_delete_document.id;
    GET DIAGNOSTICS gone = ROW_COUNT;
    RETURN gone > 0;
END $$;

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


-- == Syncing tables ===============================================================================

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
CREATE FUNCTION rag_sync_trigger() RETURNS trigger
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
-- The documents are the table owner's (rag_sync_owner), in no tenant: only that user may sync it (a
-- superuser too: SET ROLE to the owner first), or an admin a superuser's table (documents shared).
CREATE FUNCTION rag_sync_table(tbl regclass, text_column name, title_column name DEFAULT NULL,
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
CREATE FUNCTION rag_unsync_table(tbl regclass, delete_documents boolean DEFAULT false)
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


-- == Search =======================================================================================


-- Exact nearest chunks to an embedding (same dimensions only; optionally one embedding model and a
-- metadata filter), ordered by distance then chunk id: the rows ORDER BY embedding <op> q, id LIMIT k
-- returns. Volatile: it keeps a per-backend copy of the vectors, refreshed when the knowledge base changes.
CREATE FUNCTION rag_search_vector(query embedding, k integer DEFAULT 10, filter jsonb DEFAULT NULL,
                                  model text DEFAULT NULL, metric text DEFAULT NULL)
RETURNS TABLE (chunk_id bigint, document_id bigint, distance double precision)
    AS 'MODULE_PATHNAME', 'rag_search_vector' LANGUAGE C VOLATILE PARALLEL RESTRICTED ROWS 10;

-- BM25's corpus statistics: number of chunks and their average length in tokens (from rag_bm25's
-- in-memory copy).
CREATE FUNCTION rag_kb_stats(OUT chunks bigint, OUT average_tokens double precision) RETURNS record
    AS 'MODULE_PATHNAME', 'rag_kb_stats' LANGUAGE C VOLATILE PARALLEL RESTRICTED;

-- Keyword search ranked by BM25 (k1 = pg_rag.bm25_k1, b = pg_rag.bm25_b), over the chunks' tsv with
-- pg_rag.text_search_config. Plain words match chunks containing any of them; a query using web search
-- syntax ("a phrase", -word, or) is matched with websearch_to_tsquery as written. Scored in C++ over a
-- per-backend inverted index kept in step with the knowledge base (MaxScore top-k).
CREATE FUNCTION rag_bm25(query text, k integer DEFAULT 10, filter jsonb DEFAULT NULL)
RETURNS TABLE (chunk_id bigint, score double precision)
    AS 'MODULE_PATHNAME', 'rag_bm25' LANGUAGE C VOLATILE PARALLEL RESTRICTED ROWS 10;

-- This backend's copies of the knowledge base: state ('not loaded', 'shared': a base file mapped by
-- every backend plus a private overlay, 'in memory': private, 'over cap'), chunks the caller may see,
-- full loads and incremental catch-ups so far, and of a shared copy its generation and the caller's
-- visible rows in the base and in the overlay.
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

-- The distance operator of a metric (NULL: pg_rag.distance_metric): '<=>', '<->' or '<#>'.
CREATE FUNCTION rag_distance_operator(metric text DEFAULT NULL) RETURNS text
    AS 'MODULE_PATHNAME', 'rag_distance_operator' LANGUAGE C STABLE PARALLEL SAFE;

-- Ranked retrieval behind rag_search: chunk ids with score and ranks, best first.
CREATE FUNCTION rag_search_ranked(query text, query_embedding embedding, k integer, mode text, filter jsonb)
RETURNS TABLE (chunk_id bigint, score double precision, vector_rank integer, keyword_rank integer)
    AS 'MODULE_PATHNAME', 'rag_search_ranked' LANGUAGE C VOLATILE PARALLEL UNSAFE ROWS 10;  -- embeds: a provider call

CREATE FUNCTION rag_search(query text, k integer DEFAULT 5, mode text DEFAULT 'hybrid', filter jsonb DEFAULT NULL)
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

CREATE FUNCTION rag_search(query_embedding embedding, k integer DEFAULT 5, filter jsonb DEFAULT NULL)
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

-- Exact nearest rows of any table by an embedding column, with the caller's privileges (a table the
-- caller cannot SELECT stays unreadable); identifiers are quoted. Rows come back as jsonb, built for the
-- k nearest rows only (found by ctid first).
CREATE FUNCTION rag_search_table(tbl regclass, embedding_column name, query embedding, k integer DEFAULT 10,
                                 metric text DEFAULT NULL)
RETURNS TABLE (row_data jsonb, distance double precision)
LANGUAGE plpgsql STABLE PARALLEL SAFE AS $$
DECLARE
    op text := @extschema@.rag_distance_operator(metric);
BEGIN
    IF k IS NULL OR k < 1 THEN
        RAISE EXCEPTION 'k must be at least 1' USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF NOT EXISTS (SELECT 1 FROM pg_attribute a WHERE a.attrelid = tbl AND a.attname = embedding_column
                   AND a.attnum > 0 AND NOT a.attisdropped AND a.atttypid = '@extschema@.embedding'::regtype) THEN
        RAISE EXCEPTION 'column "%" of % is not an embedding column', embedding_column, tbl
              USING ERRCODE = 'undefined_column';
    END IF;
    RETURN QUERY EXECUTE format(
        'SELECT to_jsonb(t) - %L, n.d FROM (SELECT t.ctid AS tid, (t.%I OPERATOR(@extschema@.%s) $1)::float8 AS d
         FROM %s t WHERE t.%I IS NOT NULL ORDER BY d LIMIT $2) n JOIN %s t ON t.ctid = n.tid ORDER BY n.d, n.tid',
        embedding_column, embedding_column, op, tbl, embedding_column, tbl) USING query, k;
END $$;


-- == Answers ======================================================================================

-- Sessions (conversation turns) and the answer cache. A session is its user's: session ids are per user
-- (another user's session of the same id is another session), and its messages carry its user too.
CREATE TABLE rag_sessions (
    id text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    owner_id text NOT NULL DEFAULT @extschema@.rag_current_user(),
    PRIMARY KEY (owner_id, id)
);
CREATE TABLE rag_messages (
    id bigserial PRIMARY KEY,
    session_id text NOT NULL,
    role text NOT NULL CHECK (role IN ('user', 'assistant')),
    content text NOT NULL,
    sources jsonb,
    provider text,
    model text,
    created_at timestamptz NOT NULL DEFAULT now(),
    owner_id text NOT NULL DEFAULT @extschema@.rag_current_user(),
    CONSTRAINT rag_messages_session_fkey FOREIGN KEY (owner_id, session_id)
        REFERENCES rag_sessions (owner_id, id) ON DELETE CASCADE
);
CREATE INDEX rag_messages_session_idx ON rag_messages (owner_id, session_id, id);
-- Answers to questions asked without a session, valid for one state of the knowledge base, each its
-- asker's (user and tenant).
CREATE TABLE rag_answer_cache (
    key bytea PRIMARY KEY,            -- sha256 of the normalised question, search options, answer settings, asker
    kb_version text NOT NULL,         -- rag_kb_version() when answered: any change to the knowledge base misses
    question text NOT NULL,
    answer jsonb NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    owner_id text NOT NULL DEFAULT @extschema@.rag_current_user(),
    tenant_id text DEFAULT @extschema@.rag_current_tenant()
);
CREATE INDEX rag_answer_cache_created_idx ON rag_answer_cache (created_at);
SELECT pg_catalog.pg_extension_config_dump('rag_sessions', '');
SELECT pg_catalog.pg_extension_config_dump('rag_messages', '');
SELECT pg_catalog.pg_extension_config_dump('rag_messages_id_seq', '');

-- The steps of rag_answer, callable on their own (the HTTP server streams generation itself).
CREATE FUNCTION rag_prepare_answer(question text, history jsonb DEFAULT '[]', sources jsonb DEFAULT '[]') RETURNS jsonb
    AS 'MODULE_PATHNAME', 'rag_prepare_answer' LANGUAGE C STABLE PARALLEL SAFE;
CREATE FUNCTION rag_generate(prompt jsonb) RETURNS jsonb
    AS 'MODULE_PATHNAME', 'rag_generate' LANGUAGE C VOLATILE STRICT PARALLEL UNSAFE;
CREATE FUNCTION rag_rewrite_question(question text, history jsonb) RETURNS text
    AS 'MODULE_PATHNAME', 'rag_rewrite_question' LANGUAGE C VOLATILE PARALLEL UNSAFE;
-- The chat providers with the keys bound to their URLs, for pg_rag_server to stream with: secrets, so
-- nobody may call it but superusers and the roles an administrator grants it to (the server's role).
CREATE FUNCTION rag_chat_provider_credentials() RETURNS jsonb
    AS 'MODULE_PATHNAME', 'rag_chat_provider_credentials' LANGUAGE C VOLATILE PARALLEL UNSAFE;
REVOKE ALL ON FUNCTION rag_chat_provider_credentials() FROM PUBLIC;
COMMENT ON FUNCTION rag_chat_provider_credentials() IS
    'The chat providers with their bound API keys, for pg_rag_server: GRANT EXECUTE to the server''s role only.';

CREATE FUNCTION rag_answer_settings() RETURNS text
    AS 'MODULE_PATHNAME', 'rag_answer_settings' LANGUAGE C STABLE PARALLEL SAFE;

-- rag_answer's result (without latency_ms) from a prepared prompt and a generated answer: the shape
-- lives in the C++ core (answer_json.hpp), shared with the HTTP server.
CREATE FUNCTION rag_answer_result(prompt jsonb, generated jsonb, standalone_question text DEFAULT NULL) RETURNS jsonb
    AS 'MODULE_PATHNAME', 'rag_answer_result' LANGUAGE C IMMUTABLE PARALLEL SAFE;
-- The answer cache key: sha256 of the normalised question, the search options and every pg_rag setting
-- but the secrets (any change misses).
CREATE FUNCTION rag_answer_cache_key(question text, k integer DEFAULT 5, mode text DEFAULT 'hybrid',
                                     filter jsonb DEFAULT NULL) RETURNS bytea
    AS 'MODULE_PATHNAME', 'rag_answer_cache_key' LANGUAGE C STABLE PARALLEL SAFE;

-- Records a finished exchange in a session of the caller's: the question and the answer, together or
-- not at all.
-- Its inputs are checked: NULLs or an answer of another shape are refused, never stored as an empty turn.
CREATE FUNCTION rag_record_answer(session_id text, question text, answer jsonb) RETURNS void
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

-- Retrieves with rag_search, packs the best chunks into a prompt, generates with the first provider of
-- pg_rag.llm_providers that answers, and returns the documented result (README, "Answers"). With a
-- session, earlier turns join the prompt and the follow-up is made standalone for retrieval; the
-- exchange is recorded. Without one, answers are cached until the knowledge base or a setting changes.
-- PL/pgSQL only orchestrates: the cache key, the prompt and the result come from C.
CREATE FUNCTION rag_answer(question text, session_id text DEFAULT NULL, k integer DEFAULT 5,
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
CREATE FUNCTION rag_session_messages(session_id text)
RETURNS TABLE (id bigint, role text, content text, sources jsonb, provider text, model text, created_at timestamptz)
LANGUAGE sql STABLE PARALLEL SAFE AS $$
    SELECT m.id, m.role, m.content, m.sources, m.provider, m.model, m.created_at
    FROM @extschema@.rag_messages m WHERE m.owner_id = @extschema@.rag_current_user() AND m.session_id = $1
    ORDER BY m.id
$$;

-- Deletes a session of the caller's and its messages; false when there was none.
CREATE FUNCTION rag_delete_session(session_id text) RETURNS boolean
LANGUAGE sql VOLATILE PARALLEL UNSAFE AS $$
    WITH gone AS (DELETE FROM @extschema@.rag_sessions s
                  WHERE s.owner_id = @extschema@.rag_current_user() AND s.id = $1 RETURNING 1)
    SELECT count(*) > 0 FROM gone
$$;

-- Deletes sessions untouched for longer than older_than (the caller's; everyone's for a superuser, as
-- for the tables' owner); returns how many.
CREATE FUNCTION rag_prune_sessions(older_than interval) RETURNS bigint
LANGUAGE sql VOLATILE PARALLEL UNSAFE AS $$
    WITH gone AS (DELETE FROM @extschema@.rag_sessions s WHERE s.updated_at < now() - $1 RETURNING 1)
    SELECT count(*) FROM gone
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

-- == Distributed with Citus (README, "Distributed with Citus") ==================================

-- True when rag_chunks is a Citus distributed table (false without Citus): the search then runs as
-- per-shard queries merged on the coordinator, and the writers do what the triggers Citus cannot run do.
CREATE FUNCTION rag_knowledge_base_distributed() RETURNS boolean
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
CREATE FUNCTION rag_propagate_identity() RETURNS void LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE AS $$
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
CREATE FUNCTION rag_bm25_score(tsv tsvector, token_count integer, terms text[], idf double precision[],
                                          k1 double precision, b double precision, avgdl double precision)
RETURNS double precision AS 'MODULE_PATHNAME', 'rag_bm25_score' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

-- The 0.7.0 rag_kb_version() of this node's own change log.
CREATE FUNCTION rag_kb_local_version() RETURNS text LANGUAGE sql STABLE PARALLEL SAFE SECURITY DEFINER
SET search_path = @extschema@, pg_catalog, pg_temp AS $$
    SELECT count(*)::text || ':' || coalesce(sum(id), 0)::text FROM @extschema@.rag_kb_changes
$$;

-- On a distributed knowledge base no trigger on a shard may update another distributed table, so a
-- document's owner and tenant reach its chunks through rag_set_document_owner(). A plain UPDATE of
-- them would leave the chunks readable by the former owner: rag_distribute puts this guard on the
-- documents, which refuses it unless rag_set_document_owner() is moving the chunks in the same
-- transaction (pg_rag_internal.owner_change, sent to the workers with its SET LOCAL).
CREATE FUNCTION rag_document_owner_guard() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    IF coalesce(current_setting('pg_rag_internal.owner_change', true), '') IS DISTINCT FROM 'on' THEN
        RAISE EXCEPTION 'pg_rag: the owner or tenant of a document of a distributed knowledge base cannot be updated directly'
            USING ERRCODE = 'feature_not_supported',
                  HINT = 'Use rag_set_document_owner(document_id, owner_id, tenant_id), which moves its chunks with it.';
    END IF;
    RETURN NEW;
END $$;

-- Lets rag_set_document_owner's UPDATE past the guard on the workers for the rest of the transaction
-- (or no longer). Citus propagates a SET LOCAL only inside a function call: run at the top level of a
-- function that is itself called at top level, it would stay on the coordinator.
CREATE FUNCTION rag_allow_owner_change(allowed boolean) RETURNS void
LANGUAGE plpgsql VOLATILE STRICT PARALLEL UNSAFE SET search_path = @extschema@, pg_catalog, pg_temp AS $$
BEGIN
    SET LOCAL citus.propagate_set_commands = 'local';
    IF allowed THEN
        SET LOCAL pg_rag_internal.owner_change = 'on';
    ELSE
        SET LOCAL pg_rag_internal.owner_change = 'off';
    END IF;
    -- Citus sends SET LOCALs with the BEGIN of a remote transaction; a row lock (of no row) makes
    -- this a coordinated one, as in rag_propagate_identity.
    PERFORM 1 FROM @extschema@.rag_documents d WHERE d.id = 0 FOR UPDATE;
END $$;

-- Gives a document another owner and tenant (NULL: shared), its chunks with it, as the caller: row-level
-- security decides who may (the knowledge base's owner and superusers bypass it; an administrator may
-- share or take a document, a user only their own). False when the caller may not change that document
-- or it does not exist. On one node the trigger on the documents moves the chunks; on a distributed
-- knowledge base this function does, in the same transaction.
CREATE FUNCTION rag_set_document_owner(document_id bigint, owner_id text, tenant_id text) RETURNS boolean
LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE SET search_path = @extschema@, pg_catalog, pg_temp AS $$
DECLARE
    distributed boolean := @extschema@.rag_knowledge_base_distributed();
    changed boolean;
    doc_source text;
BEGIN
    IF distributed THEN
        PERFORM @extschema@.rag_propagate_identity();
        PERFORM @extschema@.rag_allow_owner_change(true);
        -- A source is unique per owner and tenant: upheld as rag_ingest_document does there (no unique
        -- index on a distributed table), with the error the index gives on one node.
        SELECT d.source INTO doc_source FROM @extschema@.rag_documents d WHERE d.id = rag_set_document_owner.document_id;
        IF doc_source IS NOT NULL THEN
            PERFORM pg_advisory_xact_lock(hashtextextended(concat_ws(chr(31), doc_source,
                coalesce(rag_set_document_owner.owner_id, chr(30)), coalesce(rag_set_document_owner.tenant_id, chr(30))), 1414));
            IF EXISTS (SELECT 1 FROM @extschema@.rag_documents d
                        WHERE d.source = doc_source AND d.id <> rag_set_document_owner.document_id
                          AND d.owner_id IS NOT DISTINCT FROM rag_set_document_owner.owner_id
                          AND d.tenant_id IS NOT DISTINCT FROM rag_set_document_owner.tenant_id) THEN
                RAISE EXCEPTION 'duplicate key value violates unique constraint "rag_documents_source_key"'
                    USING ERRCODE = 'unique_violation',
                          DETAIL = format('Key (source, owner_id, tenant_id)=(%s, %s, %s) already exists.', doc_source,
                                          coalesce(rag_set_document_owner.owner_id, 'null'),
                                          coalesce(rag_set_document_owner.tenant_id, 'null'));
            END IF;
        END IF;
    END IF;
    UPDATE @extschema@.rag_documents d
       SET owner_id = rag_set_document_owner.owner_id, tenant_id = rag_set_document_owner.tenant_id
     WHERE d.id = rag_set_document_owner.document_id;
    changed := FOUND;
    IF distributed THEN
        IF changed THEN
            UPDATE @extschema@.rag_chunks c
               SET owner_id = rag_set_document_owner.owner_id, tenant_id = rag_set_document_owner.tenant_id
             WHERE c.document_id = rag_set_document_owner.document_id;
        END IF;
        PERFORM @extschema@.rag_allow_owner_change(false);
    END IF;
    RETURN changed;
END $$;

-- Distributes the knowledge base over the Citus cluster: documents and their chunks hash-distributed
-- by document and co-located (a document's chunks are on its shard; the cascade from documents to
-- chunks, ingestion and deletion are single-shard), everything else left on the coordinator (sessions,
-- messages, the answer and embedding caches, provider keys, API keys, usage, the queue: per-request
-- tables the coordinator's functions read; provider keys are never copied to the workers).
-- Run once on the coordinator, as a superuser, with the workers added (citus_add_node) and pg_rag
-- installed on them (CREATE EXTENSION on the coordinator does that when the workers are already added).
-- Returns the number of shards of rag_chunks.
CREATE FUNCTION rag_distribute(shard_count integer DEFAULT 32, by text DEFAULT 'document')
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
    -- writer (rag_ingest_document); a document's change of owner goes through rag_set_document_owner,
    -- and the guard refuses a plain UPDATE of it.
    DROP TRIGGER IF EXISTS rag_chunk_owner ON @extschema@.rag_chunks;
    DROP TRIGGER IF EXISTS rag_document_owner_changed ON @extschema@.rag_documents;
    CREATE TRIGGER rag_document_owner_guard BEFORE UPDATE OF owner_id, tenant_id ON @extschema@.rag_documents
        FOR EACH ROW WHEN (OLD.owner_id IS DISTINCT FROM NEW.owner_id OR OLD.tenant_id IS DISTINCT FROM NEW.tenant_id)
        EXECUTE FUNCTION @extschema@.rag_document_owner_guard();
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

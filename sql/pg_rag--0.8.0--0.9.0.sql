-- pg_rag 0.9.0: a document's owner on a distributed knowledge base. Every change here goes into
-- pg_rag--0.9.0.sql too.
\echo Use "ALTER EXTENSION pg_rag UPDATE TO '0.9.0'" to load this file. \quit

-- == Distributed with Citus ======================================================================

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

-- rag_distribute puts the guard on the documents (the rest as in 0.8.0).
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

-- A knowledge base distributed by 0.8.0 gets the guard now. Only on the coordinator: Citus runs this
-- script on every node (ALTER EXTENSION is propagated, after it ran here) and creates a distributed
-- table's triggers on its shards from the coordinator, which needs the trigger's function on the
-- workers first: they are updated now, as Citus sends DDL (without propagation there; their propagated
-- update then finds them up to date). Should this transaction fail, the workers are ahead: running
-- ALTER EXTENSION pg_rag UPDATE again completes it.
DO $$
DECLARE failure text;
BEGIN
    IF NOT @extschema@.rag_knowledge_base_distributed() THEN
        RETURN;
    END IF;
    IF NOT citus_is_coordinator() THEN
        RETURN;
    END IF;
    SELECT string_agg(w.nodename || ':' || w.nodeport || ': ' || w.result, '; ') INTO failure
      FROM run_command_on_workers($u$SET citus.enable_ddl_propagation TO off; ALTER EXTENSION pg_rag UPDATE TO '0.9.0'$u$) w
     WHERE NOT w.success;
    IF failure IS NOT NULL THEN
        RAISE EXCEPTION 'pg_rag: updating the workers to 0.9.0 failed: %', failure;
    END IF;
    SET LOCAL citus.enable_unsafe_triggers = on;
    CREATE TRIGGER rag_document_owner_guard BEFORE UPDATE OF owner_id, tenant_id ON @extschema@.rag_documents
        FOR EACH ROW WHEN (OLD.owner_id IS DISTINCT FROM NEW.owner_id OR OLD.tenant_id IS DISTINCT FROM NEW.tenant_id)
        EXECUTE FUNCTION @extschema@.rag_document_owner_guard();
END $$;

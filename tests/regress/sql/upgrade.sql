-- The released 0.1.0 script plus every upgrade gives the same extension as a fresh install of the
-- current full script: the same members, and the same definitions of each.
SET client_min_messages = warning;
DROP EXTENSION pg_rag CASCADE;
RESET client_min_messages;
CREATE EXTENSION pg_rag VERSION '0.1.0';
SELECT extversion FROM pg_extension WHERE extname = 'pg_rag';
SELECT '[1,2,3]'::embedding <-> '[1,2,4]';
ALTER EXTENSION pg_rag UPDATE;
SELECT extversion FROM pg_extension WHERE extname = 'pg_rag';
SELECT dims(rag_embed('after the upgrade'));
-- Every member with its definition: functions by pg_get_functiondef, tables by their columns, indexes,
-- constraints, triggers and policies (each set sorted by definition: creation order means nothing),
-- types, operators, casts, operator classes and aggregates by their catalog fields.
CREATE FUNCTION pg_temp.extension_members() RETURNS TABLE (member text, definition text) LANGUAGE sql AS $$
  SELECT pg_describe_object(d.classid, d.objid, d.objsubid),
         CASE d.classid
           WHEN 'pg_proc'::regclass THEN
             (SELECT CASE WHEN p.prokind IN ('f', 'p') THEN pg_get_functiondef(p.oid) ELSE p.prokind::text END
              FROM pg_proc p WHERE p.oid = d.objid)
           WHEN 'pg_class'::regclass THEN
             (SELECT string_agg(a.attname || ' ' || format_type(a.atttypid, a.atttypmod) || ' ' || a.attnotnull::text
                                || ' ' || coalesce(pg_get_expr(ad.adbin, ad.adrelid), ''), ', ' ORDER BY a.attnum)
              FROM pg_attribute a LEFT JOIN pg_attrdef ad ON ad.adrelid = a.attrelid AND ad.adnum = a.attnum
              WHERE a.attrelid = d.objid AND a.attnum > 0 AND NOT a.attisdropped)
             || coalesce((SELECT ' | ' || string_agg(pg_get_indexdef(i.indexrelid), '; ' ORDER BY pg_get_indexdef(i.indexrelid))
                          FROM pg_index i WHERE i.indrelid = d.objid), '')
             || coalesce((SELECT ' | ' || string_agg(pg_get_constraintdef(c.oid), '; ' ORDER BY pg_get_constraintdef(c.oid))
                          FROM pg_constraint c WHERE c.conrelid = d.objid), '')
             || coalesce((SELECT ' | ' || string_agg(pg_get_triggerdef(t.oid), '; ' ORDER BY pg_get_triggerdef(t.oid))
                          FROM pg_trigger t WHERE t.tgrelid = d.objid AND NOT t.tgisinternal), '')
             || coalesce((SELECT ' | ' || string_agg(concat_ws(' ', p.polname, p.polcmd, p.polpermissive, p.polroles::text,
                                                               pg_get_expr(p.polqual, p.polrelid),
                                                               pg_get_expr(p.polwithcheck, p.polrelid)), '; ' ORDER BY p.polname)
                          FROM pg_policy p WHERE p.polrelid = d.objid), '')
             || (SELECT ' | row security ' || c.relrowsecurity || ' forced ' || c.relforcerowsecurity
                 FROM pg_class c WHERE c.oid = d.objid)
             || ' | acl ' || coalesce((SELECT c.relacl::text FROM pg_class c WHERE c.oid = d.objid), '')
           WHEN 'pg_type'::regclass THEN
             (SELECT concat_ws(' ', t.typtype, t.typlen, t.typbyval, t.typalign, t.typstorage, t.typinput, t.typoutput,
                               t.typreceive, t.typsend, t.typmodin, t.typmodout, t.typelem::regtype)
              FROM pg_type t WHERE t.oid = d.objid)
           WHEN 'pg_operator'::regclass THEN
             (SELECT concat_ws(' ', o.oprcode, o.oprcom::regoperator, o.oprnegate::regoperator, o.oprrest, o.oprjoin,
                               o.oprcanmerge, o.oprcanhash)
              FROM pg_operator o WHERE o.oid = d.objid)
           WHEN 'pg_cast'::regclass THEN
             (SELECT concat_ws(' ', c.castfunc::regprocedure, c.castcontext, c.castmethod) FROM pg_cast c WHERE c.oid = d.objid)
           WHEN 'pg_opclass'::regclass THEN
             (SELECT o.opcdefault::text
                     || ' | ' || (SELECT string_agg(a.amopstrategy || ' ' || a.amopopr::regoperator, ', ' ORDER BY a.amopstrategy)
                                  FROM pg_amop a WHERE a.amopfamily = o.opcfamily)
                     || ' | ' || (SELECT string_agg(a.amprocnum || ' ' || a.amproc::regprocedure, ', ' ORDER BY a.amprocnum)
                                  FROM pg_amproc a WHERE a.amprocfamily = o.opcfamily)
              FROM pg_opclass o WHERE o.oid = d.objid)
         END
         -- Aggregates: their transition, final and combine functions and initial state.
         || coalesce((SELECT concat_ws(' ', a.aggtransfn, a.aggtranstype::regtype, a.aggfinalfn, a.aggcombinefn, a.agginitval)
                      FROM pg_aggregate a WHERE d.classid = 'pg_proc'::regclass AND a.aggfnoid = d.objid), '')
  FROM pg_depend d
  WHERE d.refclassid = 'pg_extension'::regclass AND d.deptype = 'e'
    AND d.refobjid = (SELECT oid FROM pg_extension WHERE extname = 'pg_rag')
$$;
CREATE TEMP TABLE upgraded AS SELECT * FROM pg_temp.extension_members();
CREATE TEMP TABLE upgraded_acl AS
  SELECT p.oid::regprocedure::text AS fn, p.proacl::text AS acl FROM pg_proc p
  WHERE p.pronamespace = 'public'::regnamespace;
-- Comments on anything (members, their columns, indexes, constraints, triggers), sequence ownership
-- (a sequence OWNED BY a column goes with it) and the tables pg_dump dumps (pg_extension_config_dump),
-- each by name: objects of other tests are the same in both installs and cancel out.
CREATE FUNCTION pg_temp.comments() RETURNS TABLE (object text, description text) LANGUAGE sql AS $$
  SELECT pg_describe_object(classoid, objoid, objsubid), description FROM pg_description WHERE objoid >= 16384
$$;
CREATE FUNCTION pg_temp.sequence_owners() RETURNS TABLE (sequence text, owner text, deptype "char") LANGUAGE sql AS $$
  SELECT pg_describe_object(d.classid, d.objid, 0), pg_describe_object(d.refclassid, d.refobjid, d.refobjsubid), d.deptype
  FROM pg_depend d JOIN pg_class s ON s.oid = d.objid AND s.relkind = 'S'
  WHERE d.classid = 'pg_class'::regclass AND d.refclassid = 'pg_class'::regclass AND d.deptype IN ('a', 'i')
$$;
CREATE FUNCTION pg_temp.config_dump() RETURNS TABLE (ord bigint, config text, condition text) LANGUAGE sql AS $$
  SELECT x.ord, x.cfg::regclass::text, x.cond
  FROM pg_extension e, unnest(e.extconfig, e.extcondition) WITH ORDINALITY x(cfg, cond, ord)
  WHERE e.extname = 'pg_rag'
$$;
CREATE TEMP TABLE upgraded_comments AS SELECT * FROM pg_temp.comments();
CREATE TEMP TABLE upgraded_owners AS SELECT * FROM pg_temp.sequence_owners();
CREATE TEMP TABLE upgraded_config AS SELECT * FROM pg_temp.config_dump();
DROP EXTENSION pg_rag;
CREATE EXTENSION pg_rag;
SELECT extversion FROM pg_extension WHERE extname = 'pg_rag';
-- The fresh install runs the full script (without it, CREATE EXTENSION would quietly take 0.1.0 and
-- the upgrades, and this test would compare the upgrade path with itself).
SELECT (pg_stat_file(s.setting || '/extension/pg_rag--' || e.extversion || '.sql')).size > 0 AS full_script
FROM pg_config s, pg_extension e WHERE s.name = 'SHAREDIR' AND e.extname = 'pg_rag';
CREATE TEMP TABLE fresh AS SELECT * FROM pg_temp.extension_members();
SELECT (SELECT count(*) FROM fresh) AS members,
       (SELECT count(*) FROM (SELECT member FROM fresh EXCEPT SELECT member FROM upgraded) a) AS only_in_fresh,
       (SELECT count(*) FROM (SELECT member FROM upgraded EXCEPT SELECT member FROM fresh) b) AS only_in_upgraded;
-- Members whose definitions differ (none).
SELECT f.member FROM fresh f JOIN upgraded u USING (member)
WHERE f.definition IS DISTINCT FROM u.definition ORDER BY 1;
-- Function privileges are the same (none differ).
SELECT u.fn, u.acl AS upgraded, p.proacl::text AS fresh FROM upgraded_acl u
JOIN pg_proc p ON p.oid::regprocedure::text = u.fn AND p.pronamespace = 'public'::regnamespace
WHERE u.acl IS DISTINCT FROM p.proacl::text ORDER BY 1;
-- Comments, sequence ownership and pg_dump registrations are the same (none differ).
(SELECT 'upgraded' AS install, * FROM upgraded_comments EXCEPT SELECT 'upgraded', * FROM pg_temp.comments())
UNION ALL
(SELECT 'fresh', * FROM pg_temp.comments() EXCEPT SELECT 'fresh', * FROM upgraded_comments) ORDER BY 2, 1;
(SELECT 'upgraded' AS install, * FROM upgraded_owners EXCEPT SELECT 'upgraded', * FROM pg_temp.sequence_owners())
UNION ALL
(SELECT 'fresh', * FROM pg_temp.sequence_owners() EXCEPT SELECT 'fresh', * FROM upgraded_owners) ORDER BY 2, 1;
SELECT count(*) AS owned_sequences FROM pg_temp.sequence_owners() WHERE sequence LIKE 'sequence rag\_%';
(SELECT 'upgraded' AS install, * FROM upgraded_config EXCEPT SELECT 'upgraded', * FROM pg_temp.config_dump())
UNION ALL
(SELECT 'fresh', * FROM pg_temp.config_dump() EXCEPT SELECT 'fresh', * FROM upgraded_config) ORDER BY 2, 1;
-- What pg_dump dumps of the extension's tables: documents, chunks, sessions, the embedding cache, queued
-- questions, API key hashes and usage events; never the change logs, the answer cache or provider keys.
SELECT * FROM pg_temp.config_dump() ORDER BY ord;

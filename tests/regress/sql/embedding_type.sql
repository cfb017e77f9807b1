-- The embedding type: text and binary I/O, typmod, casts, pgvector-style operators.
CREATE TABLE items (id bigserial PRIMARY KEY, body text, emb embedding(3));
INSERT INTO items (body, emb) VALUES ('a', '[1,2,3]'), ('b', '[4,5,6]'), ('c', ' [ -1.5 , 0.25,+1e-3 ] ');
SELECT id, body, emb FROM items ORDER BY id;
SELECT id, round((emb <=> '[3,1,2]')::numeric, 6) AS d FROM items ORDER BY emb <=> '[3,1,2]' LIMIT 5;
SELECT id, round((emb <-> '[0,0,0]')::numeric, 6) AS l2 FROM items ORDER BY emb <-> '[0,0,0]';
SELECT id, round((emb <#> '[1,1,1]')::numeric, 6) AS neg_ip FROM items ORDER BY emb <#> '[1,1,1]';
SELECT id, round((emb <+> '[1,1,1]')::numeric, 6) AS l1 FROM items ORDER BY emb <+> '[1,1,1]';
SELECT round(cosine_distance(emb, '[1,1,1]')::numeric, 6), round(l2_distance(emb, '[0,0,0]')::numeric, 6),
       round(inner_product(emb, emb)::numeric, 6), round(l1_distance(emb, '[1,1,1]')::numeric, 6) FROM items ORDER BY id;

-- Typmod shows in the catalog and is enforced.
SELECT format_type(atttypid, atttypmod) FROM pg_attribute WHERE attrelid = 'items'::regclass AND attname = 'emb';
SELECT '[1,2]'::embedding(2), '[1,2,3]'::embedding;

-- Round trip of shortest float text.
SELECT '[0.1,1e-45,3.4028235e+38,-0,123456.79]'::embedding;
SELECT '[0.1,1e-45,3.4028235e+38,-0,123456.79]'::embedding::text::embedding = '[0.1,1e-45,3.4028235e+38,0,123456.79]';

-- Casts from and to arrays.
SELECT ARRAY[1,2,3]::real[]::embedding, '[1,2,3]'::embedding::real[];
SELECT ARRAY[1,2,3]::integer[]::embedding, ARRAY[1.5,2.5]::double precision[]::embedding,
       ARRAY[0.1,2]::numeric[]::embedding;
SELECT '[1.5,2.25]'::embedding::double precision[], '[1.5,2.25]'::embedding::numeric[];
INSERT INTO items (body, emb) VALUES ('from array', ARRAY[7,8,9]);
SELECT emb FROM items WHERE body = 'from array';

-- Binary COPY round trip (send/recv).
COPY (SELECT id, emb FROM items ORDER BY id) TO '/tmp/pg_rag_regress_embedding.bin' (FORMAT binary);
CREATE TABLE items_copy (id bigint, emb embedding(3));
COPY items_copy FROM '/tmp/pg_rag_regress_embedding.bin' (FORMAT binary);
SELECT count(*) AS same FROM items i JOIN items_copy c USING (id) WHERE i.emb = c.emb;

-- Large vectors: 16000 dimensions is the maximum and stays usable.
SELECT dims(array_fill(0.5::real, ARRAY[16000])::embedding);
SELECT l2_distance(array_fill(1::real, ARRAY[16000])::embedding, array_fill(0::real, ARRAY[16000])::embedding);

-- Storage is "main": inline when it fits, never compressed/out of line for typical sizes.
SELECT typstorage FROM pg_type WHERE typname = 'embedding';

-- Norms, arithmetic, comparisons and the kernel paths.
SELECT l2_norm('[3,4]'), dims('[1,2,3]'), l2_normalize('[3,4]'), l2_normalize('[0,0]');
SELECT '[1,2,3]'::embedding + '[4,5,6]', '[1,2,3]'::embedding - '[4,5,6]', '[1,2,3]'::embedding * '[4,5,6]';
SELECT '[1,2]'::embedding < '[1,3]', '[1,2]'::embedding <= '[1,2]', '[1,2]'::embedding = '[1,2]',
       '[1,2]'::embedding <> '[1,2]', '[1,2]'::embedding > '[1,2,0]', '[2]'::embedding >= '[1,9]';
SELECT embedding_cmp('[1,2]', '[1,2]'), embedding_cmp('[1]', '[1,0]'), '[0]'::embedding = '[-0]';
SELECT embedding_hash('[0]') = embedding_hash('[-0]') AS zero_hash_consistent;
-- Inner product is the dot product; <#> is its negation.
SELECT inner_product('[1,2,3]', '[4,5,6]'), '[1,2,3]'::embedding <#> '[4,5,6]';
-- Odd lengths exercise the tail of the 16-lane kernels.
SELECT l1_distance(array_fill(1::real, ARRAY[17])::embedding, array_fill(3::real, ARRAY[17])::embedding),
       inner_product(array_fill(2::real, ARRAY[4095])::embedding, array_fill(0.5::real, ARRAY[4095])::embedding);

-- Every kernel path gives bit-identical distances (here: portable against the automatic choice).
CREATE TABLE vecs AS
  SELECT i, ARRAY(SELECT sin(i * 7 + j)::real FROM generate_series(1, 771) j)::embedding AS e
  FROM generate_series(1, 50) i;
SET pg_rag.kernel = 'auto';
CREATE TABLE d_auto AS SELECT a.i, b.i AS j, a.e <=> b.e AS c, a.e <-> b.e AS l2, a.e <#> b.e AS ip, a.e <+> b.e AS l1
  FROM vecs a, vecs b;
SET pg_rag.kernel = 'portable';
SELECT rag_kernel_info();
SELECT count(*) AS pairs, count(*) FILTER (WHERE d.c = a.e <=> b.e AND d.l2 = a.e <-> b.e AND d.ip = a.e <#> b.e
                                            AND d.l1 = a.e <+> b.e) AS identical
  FROM d_auto d JOIN vecs a ON a.i = d.i JOIN vecs b ON b.i = d.j;
RESET pg_rag.kernel;
SELECT rag_kernel_info() IN ('avx2', 'avx512', 'portable') AS known_path;

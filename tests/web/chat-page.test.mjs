// The chat page in Debian's Chromium (puppeteer-core), against real pg_rag_server processes, Postgres and
// the fake provider that tests/web-tests.sh started. Every point of issue 11's "Tested in a browser":
// upload (button and drop, progress, per-file errors), ask and see tokens arrive before the answer is
// complete, a citation and its source, stop a stream (the provider request is cancelled), reload and find
// the conversation, sessions, delete a document, nothing from a document or a model executes; and sign-in
// on 401, 429 with its wait, a failing provider, a server that is down, phone width, dark mode.
// Screenshots go to PGRAG_WEB_SCREENSHOTS. Prints "web tests: N passed, M failed".
import { spawn } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import puppeteer from 'puppeteer-core';

const env = (name, fallback) => process.env[name] || fallback;
const BIN = env('PGRAG_WEB_SERVER_BIN', 'build/pg_rag_server');
const PG_PORT = Number(env('PGRAG_WEB_PG_PORT', '55570'));
const FAKE = `http://127.0.0.1:${env('PGRAG_WEB_FAKE_PORT', String(PG_PORT + 1))}`;
const WEB_ROOT = env('PGRAG_WEB_ROOT_DIR', 'server/web');
const DATA = env('PGRAG_WEB_DATA', 'tests/data');
const WORK = env('PGRAG_WEB_WORK', '/tmp');
const SHOTS = env('PGRAG_WEB_SCREENSHOTS', 'build/web-screenshots');
const CHROMIUM = env('PGRAG_CHROMIUM', '/usr/bin/chromium');
const PAYLOAD_TEXT = '<img src=x onerror=__pwned=1>';
const SCRIPT_TEXT = '<script>__pwned=2</script>';

// ---------------------------------------------------------------- servers

const servers = [];
function startServer(port, role, extra = []) {
  const args = ['--listen', `127.0.0.1:${port}`, '--database-url',
    `host=127.0.0.1 port=${PG_PORT} dbname=pg_rag_web user=${role}`, '--web-root', WEB_ROOT, '--pool-size', '4',
    '--body-limit', '1048576', ...extra];
  const child = spawn(BIN, args, { stdio: ['ignore', 'ignore', 'pipe'] });
  let log = '';
  child.stderr.on('data', (d) => { log += d; });
  const server = { port, child, url: `http://127.0.0.1:${port}`, log: () => log };
  servers.push(server);
  return server;
}

async function waitHealthy(server) {
  for (let i = 0; i < 200; i++) {
    try {
      if ((await fetch(`${server.url}/healthz`)).ok) return;
    } catch {
      // not yet
    }
    await sleep(50);
  }
  throw new Error(`pg_rag_server on ${server.port} did not start:\n${server.log()}`);
}

function stopServers() {
  for (const s of servers) if (s.child.exitCode === null) s.child.kill('SIGTERM');
}
process.on('exit', stopServers);

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// ---------------------------------------------------------------- steps

let passed = 0;
let failed = 0;
async function step(name, fn) {
  const started = Date.now();
  try {
    await fn();
    passed++;
    console.log(`ok   ${name} (${Date.now() - started} ms)`);
  } catch (err) {
    failed++;
    console.log(`FAIL ${name}\n     ${String(err && err.stack ? err.stack : err).split('\n').slice(0, 6).join('\n     ')}`);
    if (currentPage) await shot(currentPage, `failed-${name.replace(/[^a-z0-9]+/gi, '-').slice(0, 50)}`).catch(() => {});
  }
}

function check(condition, message) {
  if (!condition) throw new Error(message);
}

async function shot(page, name) {
  await page.screenshot({ path: path.join(SHOTS, `${name}.png`) });
}

// ---------------------------------------------------------------- page helpers

let currentPage = null;

async function ask(page, question) {
  await page.focus('#question');
  await page.keyboard.type(question);
  await page.keyboard.press('Enter');
}

const lastAnswerDone = (page) => page.waitForFunction(() => {
  const all = document.querySelectorAll('#messages .message.assistant');
  const last = all[all.length - 1];
  return last && /\b(done|failed|stopped)\b/.test(last.className);
}, { timeout: 30000 });

const lastAnswer = (page) => page.evaluate(() => {
  const all = document.querySelectorAll('#messages .message.assistant');
  const last = all[all.length - 1];
  if (!last) return null;
  return {
    text: last.querySelector('.message-body').textContent,
    className: last.className,
    busy: last.getAttribute('aria-busy'),
    status: last.querySelector('.message-status').hidden ? '' : last.querySelector('.message-status').textContent,
  };
});

async function api(server, method, urlPath, body) {
  const res = await fetch(server.url + urlPath, {
    method, headers: body ? { 'Content-Type': 'application/json' } : {}, body: body ? JSON.stringify(body) : undefined,
  });
  return { status: res.status, body: await res.json().catch(() => null), headers: res.headers };
}

const sessionOf = (page) => page.evaluate(() => decodeURIComponent(location.hash.replace(/^#session=/, '')));

// Confirms every window.confirm() (deleting asks first).
function acceptDialogs(page) {
  page.on('dialog', (d) => d.accept());
}

// ---------------------------------------------------------------- the test

mkdirSync(SHOTS, { recursive: true });
const files = path.join(WORK, 'upload');
mkdirSync(files, { recursive: true });
// A document made to attack the page: its title (the file name) and its text carry HTML that would run
// if the page ever parsed document or model text as HTML; the fake model repeats its first sentence.
const payloadFile = path.join(files, `${PAYLOAD_TEXT}.md`);
writeFileSync(payloadFile, `The zebra payload ${PAYLOAD_TEXT} with ${SCRIPT_TEXT} and **bold zebra words** stays plain text on the zebra page\n\nZebra notes end here.\n`);
// A long first sentence: the fake model streams it word by word, long enough to be stopped.
const longFile = path.join(files, 'parcel-journey.md');
writeFileSync(longFile, `${'Parcels travel from the central warehouse through regional sorting hubs and local depots to couriers who ring twice and wait and leave a card and try again the next morning and call the recipient and bring the parcel back to the depot where it waits for seven days '.repeat(2)}before it returns to the sender.\n`);
const unsupportedFile = path.join(files, 'program.bin');
writeFileSync(unsupportedFile, Buffer.from([0x7f, 0x45, 0x4c, 0x46, 0x02, 0x01, 0x01, 0x00, 0x00, 0x00]));
const largeFile = path.join(files, 'too-large.txt');
writeFileSync(largeFile, 'Too large for a server with a 1 MB body limit.\n'.repeat(30000));
const corruptFile = path.join(DATA, 'truncated.pdf');
const pdfFile = path.join(DATA, 'refund-policy.pdf');

const main = startServer(PG_PORT + 2, 'web_chat');
// Requires sign-in; its role is subject to row-level security (tests/web-tests.sh made the keys).
const guarded = startServer(PG_PORT + 5, 'web_auth', ['--auth', 'required']);
const keyOf = (user) => readFileSync(path.join(env('PGRAG_WEB_KEYS', WORK), `key-${user}`), 'utf8').trim();
const down = startServer(PG_PORT + 3, 'web_down');
const doomed = startServer(PG_PORT + 4, 'web_chat');
await Promise.all([main, down, doomed].map(waitHealthy));

const browser = await puppeteer.launch({
  executablePath: CHROMIUM,
  headless: true,
  args: [...(process.getuid && process.getuid() === 0 ? ['--no-sandbox'] : []), '--disable-dev-shm-usage',
    '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-default-apps',
    '--disable-sync', '--metrics-recording-only', '--no-default-browser-check'],
});
process.on('exit', () => {
  try {
    browser.process()?.kill('SIGKILL');
  } catch {
    // gone
  }
});
const context = browser.defaultBrowserContext();
await context.overridePermissions(main.url, ['clipboard-read', 'clipboard-write', 'clipboard-sanitized-write']);

const page = await browser.newPage();
currentPage = page;
acceptDialogs(page);
await page.setViewport({ width: 1280, height: 860 });
const requested = [];
const pageErrors = [];
const cspViolations = [];
page.on('request', (r) => requested.push(r.url()));
page.on('pageerror', (e) => pageErrors.push(String(e)));
page.on('console', (m) => {
  if (/Content Security Policy|Trusted Type|TrustedHTML/i.test(m.text())) cspViolations.push(m.text());
});

await step('the page loads from the server with a strict CSP, nosniff and no inline script', async () => {
  const res = await page.goto(main.url, { waitUntil: 'networkidle0' });
  check(res.status() === 200, `GET / → ${res.status()}`);
  const headers = res.headers();
  check(/connect-src 'self'/.test(headers['content-security-policy']), `CSP: ${headers['content-security-policy']}`);
  check(/script-src 'self'/.test(headers['content-security-policy']), 'script-src');
  check(headers['x-content-type-options'] === 'nosniff', 'nosniff');
  check(/^text\/html/.test(headers['content-type']), headers['content-type']);
  const inline = await page.evaluate(() => [...document.scripts].filter((s) => !s.src).length);
  check(inline === 0, `${inline} inline scripts`);
  check(await page.$eval('#welcome', (e) => !e.hidden), 'the welcome text shows on an empty conversation');
  check(/^#session=chat-[0-9a-f]{24}$/.test(await page.evaluate(() => location.hash)), 'a new session id in the address');
});

await step('every control has a label for screen readers', async () => {
  const unnamed = await page.evaluate(() => {
    const name = (el) => {
      if (el.getAttribute('aria-label')) return el.getAttribute('aria-label');
      if (el.getAttribute('aria-labelledby')) return document.getElementById(el.getAttribute('aria-labelledby'))?.textContent;
      if (el.labels && el.labels.length) return el.labels[0].textContent;
      return el.textContent.trim() || el.title;
    };
    return [...document.querySelectorAll('button, input, textarea, select, dialog')]
      .filter((el) => !(name(el) || '').trim()).map((el) => el.outerHTML.slice(0, 80));
  });
  check(unnamed.length === 0, `unnamed: ${unnamed.join(' | ')}`);
  check(await page.$eval('html', (e) => e.lang === 'en'), 'lang');
  check(await page.$$eval('main, nav, aside, header', (l) => l.length === 4), 'landmarks');
});

let uploads = [];
await step('uploading several files shows progress, then each file its result or its own error', async () => {
  const input = await page.$('#file-input');
  await input.uploadFile(pdfFile, payloadFile, longFile, corruptFile, unsupportedFile, largeFile);
  await page.waitForFunction(() => {
    const rows = [...document.querySelectorAll('#upload-list .upload')];
    return rows.length === 6 && rows.every((r) => /\b(ok|error)\b/.test(r.className));
  }, { timeout: 60000 });
  uploads = await page.$$eval('#upload-list .upload', (rows) => rows.map((r) => ({
    name: r.querySelector('.upload-name').textContent,
    ok: r.classList.contains('ok'),
    progress: r.querySelector('progress').value,
    status: r.querySelector('.upload-status').textContent,
  })));
  await shot(page, 'desktop-uploads');
  console.log(`     ${uploads.map((u) => `${u.name}: ${u.status}`).join('\n     ')}`);
  const byName = Object.fromEntries(uploads.map((u) => [u.name, u]));
  for (const name of ['refund-policy.pdf', `${PAYLOAD_TEXT}.md`, 'parcel-journey.md']) {
    check(byName[name]?.ok, `${name} was not added: ${byName[name]?.status}`);
    check(byName[name].progress === 1, `${name}: progress ${byName[name].progress}`);
    check(/^Added: \d+ chunks?$/.test(byName[name].status), byName[name].status);
  }
  check(!byName['truncated.pdf'].ok && /pdf/i.test(byName['truncated.pdf'].status), `corrupt PDF: ${byName['truncated.pdf'].status}`);
  check(!byName['program.bin'].ok && /^Unsupported file/.test(byName['program.bin'].status), `unsupported: ${byName['program.bin'].status}`);
  check(!byName['too-large.txt'].ok && /^Too large/.test(byName['too-large.txt'].status), `too large: ${byName['too-large.txt'].status}`);
});

await step('a file dropped on the page is uploaded', async () => {
  const guide = readFileSync(path.join(DATA, 'guide.md'), 'utf8');
  await page.evaluate((text) => {
    const dt = new DataTransfer();
    dt.items.add(new File([text], 'guide.md', { type: 'text/markdown' }));
    const target = document.getElementById('conversation');
    target.dispatchEvent(new DragEvent('dragenter', { bubbles: true, cancelable: true, dataTransfer: dt }));
    window.__overlayShown = !document.getElementById('drop-overlay').hidden;
    target.dispatchEvent(new DragEvent('drop', { bubbles: true, cancelable: true, dataTransfer: dt }));
  }, guide);
  check(await page.evaluate(() => window.__overlayShown), 'the drop overlay did not show');
  await page.waitForFunction(() => [...document.querySelectorAll('#upload-list .upload')]
    .some((r) => r.querySelector('.upload-name').textContent === 'guide.md' && r.classList.contains('ok')), { timeout: 30000 });
  check(await page.$eval('#drop-overlay', (e) => e.hidden), 'the overlay stays');
});

let docs = [];
await step('the documents list shows every document with its chunk count', async () => {
  await page.waitForFunction(() => document.querySelectorAll('#document-list .document').length === 4, { timeout: 10000 });
  docs = await page.$$eval('#document-list .document', (l) => l.map((li) => ({
    id: li.dataset.id, title: li.querySelector('.item-title').textContent, meta: li.querySelector('.item-meta').textContent,
  })));
  for (const d of docs) check(/^\d+ chunks?/.test(d.meta), `${d.title}: ${d.meta}`);
  check(docs.some((d) => d.title === PAYLOAD_TEXT + '.md'), 'the payload title is shown as text');
  check(await page.$eval('#documents-count', (e) => e.textContent) === '4', 'count');
});

let firstSession = '';
let chatRequests = [];
page.on('request', (r) => {
  if (r.url().endsWith('/api/chat') && r.method() === 'POST') chatRequests.push(JSON.parse(r.postData()));
});

await step('Shift+Enter adds a line; Enter sends', async () => {
  await page.focus('#question');
  await page.keyboard.type('first line');
  await page.keyboard.down('Shift');
  await page.keyboard.press('Enter');
  await page.keyboard.up('Shift');
  await page.keyboard.type('second line');
  check(await page.$eval('#question', (e) => e.value) === 'first line\nsecond line', 'Shift+Enter did not add a line');
  check(await page.$$eval('#messages .message', (l) => l.length) === 0, 'Shift+Enter sent the question');
  await page.$eval('#question', (e) => { e.value = ''; });
});

await step('an answer streams: tokens arrive before it is complete, then it renders with citations', async () => {
  firstSession = await sessionOf(page);
  await ask(page, 'How long do refunds take?');
  check(await page.$eval('#question', (e) => e.value) === '', 'Enter did not send');
  // While the answer streams: some text, the message busy, Stop shown instead of Send.
  await page.waitForFunction(() => {
    const m = document.querySelector('#messages .message.assistant');
    return m && m.getAttribute('aria-busy') === 'true' && m.querySelector('.message-body').textContent.length > 0;
  }, { timeout: 20000 });
  const partial = await lastAnswer(page);
  check(await page.$eval('#stop', (e) => !e.hidden) && await page.$eval('#send', (e) => e.hidden), 'Stop is not shown while streaming');
  await shot(page, 'desktop-streaming');
  await lastAnswerDone(page);
  const done = await lastAnswer(page);
  check(/\bdone\b/.test(done.className), `not done: ${done.className} ${done.status}`);
  check(done.text.length > partial.text.length && done.text.startsWith(partial.text.trim().slice(0, 10)),
    `streamed "${partial.text}" then "${done.text}"`);
  check(/^ollama says: /.test(done.text), done.text);
  check(await page.$$eval('#messages .message.assistant:last-child .cite', (l) => l.length) >= 1, 'no citation button');
  check(await page.$eval('#send', (e) => !e.hidden), 'Send is back');
  const recorded = await api(main, 'GET', `/api/sessions/${encodeURIComponent(firstSession)}/messages`);
  check(recorded.status === 200 && recorded.body.messages.length === 2, `recorded: ${JSON.stringify(recorded.body)}`);
  check(recorded.body.messages[1].content.replace(/\s+/g, ' ').includes(done.text.replace(/\s+/g, ' ').replace(/ ?1$/, '').slice(0, 40)),
    'the page shows the recorded answer');
});

await step('clicking a citation shows its source; the panel lists every source of the answer', async () => {
  await page.click('#messages .message.assistant:last-child .cite');
  await page.waitForSelector('#source-list .source.selected');
  const shown = await page.$$eval('#source-list .source', (l) => l.map((li) => ({
    n: li.querySelector('.source-n').textContent,
    title: li.querySelector('.source-title').textContent,
    snippet: li.querySelector('.source-snippet').textContent,
    meta: li.querySelector('.source-meta').textContent,
    selected: li.classList.contains('selected'),
  })));
  const recorded = await api(main, 'GET', `/api/sessions/${encodeURIComponent(firstSession)}/messages`);
  const sources = recorded.body.messages[1].sources;
  check(shown.length === sources.length, `panel ${shown.length}, answer ${sources.length}`);
  const selected = shown.find((s) => s.selected);
  check(selected.n === '1' && selected.title === sources[0].title, JSON.stringify(selected));
  check(selected.title === 'refund-policy.pdf', `the refund policy is source 1: ${selected.title}`);
  check(selected.snippet.length > 0 && sources[0].snippet.startsWith(selected.snippet.slice(0, 30)), 'snippet');
  check(/score \d/.test(selected.meta), `score: ${selected.meta}`);
  check(await page.evaluate(() => document.activeElement.id) === 'source-1', 'focus moves to the source');
  await shot(page, 'desktop-answer-and-sources');
});

await step('copy puts the answer on the clipboard', async () => {
  await page.click('#messages .message.assistant:last-child .copy');
  await page.waitForFunction(() => document.querySelector('#messages .message.assistant:last-child .copy').textContent === 'Copied');
  const copied = await page.evaluate(() => navigator.clipboard.readText());
  const recorded = await api(main, 'GET', `/api/sessions/${encodeURIComponent(firstSession)}/messages`);
  check(copied === recorded.body.messages[1].content, `clipboard: ${copied}`);
});

await step('the stop button ends a streaming answer; the server cancels the provider and records nothing', async () => {
  const cutBefore = Number(await (await fetch(`${FAKE}/count/cut-web`)).text());
  await ask(page, 'How do parcels travel from the central warehouse?');
  await page.waitForFunction(() => {
    const all = document.querySelectorAll('#messages .message.assistant');
    const m = all[all.length - 1];
    return all.length === 2 && m.getAttribute('aria-busy') === 'true' && m.querySelector('.message-body').textContent.length > 20;
  }, { timeout: 20000 });
  await page.click('#stop');
  await lastAnswerDone(page);
  const stopped = await lastAnswer(page);
  check(/\bstopped\b/.test(stopped.className), stopped.className);
  check(/^Stopped/.test(stopped.status), stopped.status);
  check(!stopped.text.includes('returns to the sender'), 'the whole answer arrived before Stop');
  check(await page.$eval('#send', (e) => !e.hidden), 'Send is back after Stop');
  // The fake provider sees its client (the server) leave long before the answer's end (~10 s).
  let cut = cutBefore;
  for (let i = 0; i < 150 && cut <= cutBefore; i++) {
    await sleep(100);
    cut = Number(await (await fetch(`${FAKE}/count/cut-web`)).text());
  }
  check(cut > cutBefore, 'the server did not cancel the provider request');
  const recorded = await api(main, 'GET', `/api/sessions/${encodeURIComponent(firstSession)}/messages`);
  check(recorded.body.messages.length === 2, `a stopped answer was recorded: ${recorded.body.messages.length} messages`);
});

await step('search settings (k, mode) go with the next question', async () => {
  await page.click('#settings-open');
  await page.waitForSelector('#settings-dialog[open]');
  await page.$eval('#setting-k', (e) => { e.value = ''; });
  await page.type('#setting-k', '3');
  await page.select('#setting-mode', 'keyword');
  await shot(page, 'desktop-settings');
  await page.click('#settings-form button[type=submit]');
  check(await page.$eval('#settings-dialog', (d) => !d.open), 'the dialog closed');
  chatRequests = [];
  await ask(page, 'What does the zebra payload say?');
  await lastAnswerDone(page);
  check(chatRequests.length === 1 && chatRequests[0].k === 3 && chatRequests[0].mode === 'keyword',
    JSON.stringify(chatRequests));
  check(chatRequests[0].session_id === firstSession && chatRequests[0].stream === true, 'session and stream');
});

await step('the CSP-protected page had no violations and no script errors so far', async () => {
  check(cspViolations.length === 0, cspViolations.join('\n'));
  check(pageErrors.length === 0, pageErrors.join('\n'));
});

// From here the page runs WITHOUT its Content-Security-Policy: the renderer alone must keep document and
// model text inert (with the CSP, an inline handler could not run anyway, and the test could not fail).
await page.setBypassCSP(true);

await step('reloading the page finds the conversation (its messages come from the server)', async () => {
  await page.reload({ waitUntil: 'networkidle0' });
  check(await sessionOf(page) === firstSession, 'the address keeps the session');
  await page.waitForFunction(() => document.querySelectorAll('#messages .message.assistant.done').length === 2, { timeout: 10000 });
  const questions = await page.$$eval('#messages .message.user .message-body', (l) => l.map((e) => e.textContent));
  check(JSON.stringify(questions) === JSON.stringify(['How long do refunds take?', 'What does the zebra payload say?']),
    `questions after reload: ${JSON.stringify(questions)} (the stopped one is not recorded)`);
  const listed = await page.$$eval('#session-list .item', (l) => l.map((li) => ({
    id: li.dataset.id, title: li.querySelector('.item-title').textContent,
    current: li.querySelector('.item-open').getAttribute('aria-current'),
  })));
  check(listed.length === 1 && listed[0].id === firstSession && listed[0].title === 'How long do refunds take?' &&
    listed[0].current === 'true', JSON.stringify(listed));
});

await step('text from a document and a model answer containing <img onerror> and <script> executes nothing', async () => {
  // The page shows the answer, the payload document's title, and (on a citation) its snippet.
  const inert = () => page.evaluate(() => ({
    pwned: window.__pwned,
    elements: document.querySelectorAll('body img, body script, body iframe, body object, body embed').length,
    handlers: [...document.querySelectorAll('body *')].filter((e) => [...e.attributes].some((a) => /^on/i.test(a.name))).length,
  }));
  const checkInert = async () => {
    await sleep(300);
    const found = await inert();
    check(found.pwned === undefined, `the payload ran: __pwned = ${found.pwned}`);
    check(found.elements === 0, `${found.elements} img/script/iframe elements in the page`);
    check(found.handlers === 0, `${found.handlers} elements with inline handlers`);
  };
  await checkInert();
  await page.click('#messages .message.assistant:last-child .cite');
  await page.waitForSelector('#source-list .source.selected');
  await checkInert();
  const answer = await lastAnswer(page);
  check(answer.text.includes(PAYLOAD_TEXT) && answer.text.includes(SCRIPT_TEXT), `the payload is shown as text: ${answer.text}`);
  check(await page.$eval('#messages .message.assistant:last-child .message-body', (e) => e.querySelector('strong')?.textContent) === 'bold zebra words',
    'Markdown still renders (strong)');
  check((await page.$eval('#source-list .source.selected .source-snippet', (e) => e.textContent)).includes(PAYLOAD_TEXT), 'the snippet shows the payload as text');
  check(await page.$$eval('#document-list .item-title', (l) => l.some((e) => e.textContent === '<img src=x onerror=__pwned=1>.md')), 'the title stays text');
  await shot(page, 'desktop-xss-inert');
});

await step('the Markdown renderer builds safe DOM for every construct', async () => {
  const out = await page.evaluate(async () => {
    const { renderMarkdown } = await import('/markdown.js');
    const box = document.createElement('div');
    box.append(renderMarkdown([
      '# Title', '', 'Some *em*, **strong**, `code <b>`, ~~gone~~ and snake_case_name [1].', '',
      '- one', '- two', '  - nested', '', '1. first', '2. second', '', '> quoted', '',
      '| a | b |', '|---|--:|', '| 1 | <i>2</i> |', '', '```js', 'let x = "<script>";', '```', '',
      '[ok](https://example.org/x) [bad](javascript:alert(1)) ![img](https://example.org/i.png) <https://a.example>',
      'http://plain.example/path.',
    ].join('\n'), { citation: (n) => Object.assign(document.createElement('button'), { className: 'cite', textContent: String(n) }) }));
    return {
      tags: [...box.querySelectorAll('*')].map((e) => e.tagName.toLowerCase()).join(' '),
      links: [...box.querySelectorAll('a')].map((a) => a.getAttribute('href')),
      code: box.querySelector('pre code').textContent,
      text: box.textContent,
    };
  });
  check(out.tags === 'h3 p em strong code del button ul li li ul li ol li li blockquote p div table thead tr th th tbody tr td td pre code p a a a br a',
    `tags: ${out.tags}`);
  check(JSON.stringify(out.links) === JSON.stringify(['https://example.org/x', 'https://example.org/i.png', 'https://a.example/', 'http://plain.example/path']),
    `links: ${JSON.stringify(out.links)}`);
  check(out.code === 'let x = "<script>";', out.code);
  const edge = await page.evaluate(async () => {
    const { renderMarkdown } = await import('/markdown.js');
    const box = document.createElement('div');
    box.append(renderMarkdown('onerror=__a=1> and <b>__c stay, but __this__ and _that_ do not'));
    const deep = document.createElement('div');
    deep.append(renderMarkdown(`${'> '.repeat(3000)}deep\n\n${'**a '.repeat(3000)}`));
    return { tags: [...box.querySelectorAll('*')].map((e) => e.tagName.toLowerCase()).join(' '), deep: deep.textContent.includes('deep') };
  });
  check(edge.tags === 'p strong em', `underscores inside words: ${edge.tags}`);
  check(edge.deep, 'deep nesting renders');
  check(out.text.includes('snake_case_name') && out.text.includes('<i>2</i>') && out.text.includes('bad'), out.text);
});

await step('new chat, reopen an earlier conversation, delete one', async () => {
  await page.click('#new-chat');
  await page.waitForFunction((old) => location.hash !== `#session=${old}` && document.querySelectorAll('#messages .message').length === 0, {}, firstSession);
  check(await page.$eval('#welcome', (e) => !e.hidden), 'welcome on a new chat');
  const second = await sessionOf(page);
  await ask(page, 'How long do refunds take?');
  await lastAnswerDone(page);
  await page.waitForFunction(() => document.querySelectorAll('#session-list .item').length === 2, { timeout: 10000 });
  const order = await page.$$eval('#session-list .item', (l) => l.map((li) => li.dataset.id));
  check(order[0] === second && order[1] === firstSession, `newest first: ${order}`);
  await page.click(`#session-list .item[data-id="${firstSession}"] .item-open`);
  await page.waitForFunction(() => document.querySelectorAll('#messages .message.user').length === 2, { timeout: 10000 });
  check(await sessionOf(page) === firstSession, 'reopened');
  await page.click(`#session-list .item[data-id="${second}"] .item-delete`);
  await page.waitForFunction(() => document.querySelectorAll('#session-list .item').length === 1, { timeout: 10000 });
  check((await api(main, 'GET', `/api/sessions/${encodeURIComponent(second)}/messages`)).status === 404, 'deleted on the server');
  check(await page.$$eval('#messages .message.user', (l) => l.length) === 2, 'the open conversation stays');
});

await step('deleting a document removes it from the list and the server', async () => {
  const doc = docs.find((d) => d.title === 'parcel-journey.md');
  await page.click(`#document-list .document[data-id="${doc.id}"] .item-delete`);
  await page.waitForFunction(() => document.querySelectorAll('#document-list .document').length === 3, { timeout: 10000 });
  check((await api(main, 'GET', `/api/documents/${doc.id}`)).status === 404, 'still on the server');
  check(await page.$eval('#documents-count', (e) => e.textContent) === '3', 'count');
});

await step('dark mode follows the system', async () => {
  await page.emulateMediaFeatures([{ name: 'prefers-color-scheme', value: 'dark' }]);
  const bg = await page.evaluate(() => getComputedStyle(document.body).backgroundColor);
  const [r, g, b] = bg.match(/\d+/g).map(Number);
  check(r + g + b < 120, `dark background: ${bg}`);
  await shot(page, 'desktop-dark');
  await page.emulateMediaFeatures([{ name: 'prefers-color-scheme', value: 'light' }]);
  const light = await page.evaluate(() => getComputedStyle(document.body).backgroundColor);
  check(light.match(/\d+/g).map(Number).reduce((a, c) => a + c, 0) > 600, `light background: ${light}`);
});

await step('phone width: no sideways scrolling, the menu and the sources open as drawers', async () => {
  await page.setViewport({ width: 390, height: 844, isMobile: true, hasTouch: true, deviceScaleFactor: 2 });
  await page.reload({ waitUntil: 'networkidle0' });
  await page.waitForFunction(() => document.querySelectorAll('#messages .message.assistant.done').length === 2, { timeout: 10000 });
  const layout = await page.evaluate(() => ({
    overflow: document.documentElement.scrollWidth - window.innerWidth,
    composer: document.getElementById('composer').getBoundingClientRect().bottom <= window.innerHeight,
    sidebarHidden: document.getElementById('sidebar').getBoundingClientRect().right <= 0,
  }));
  check(layout.overflow <= 0, `${layout.overflow}px sideways`);
  check(layout.composer, 'the question box is on screen');
  check(layout.sidebarHidden, 'the sidebar covers the chat');
  await shot(page, 'phone-chat');
  await page.click('#menu-toggle');
  await page.waitForFunction(() => document.getElementById('sidebar').getBoundingClientRect().left >= 0);
  await sleep(250);
  check(await page.$eval('#menu-toggle', (e) => e.getAttribute('aria-expanded')) === 'true', 'aria-expanded');
  await shot(page, 'phone-menu');
  await page.click('#sidebar .drawer-close');
  await page.waitForFunction(() => document.getElementById('sidebar').getBoundingClientRect().right <= 0);
  await page.click('#messages .message.assistant .cite');
  await page.waitForFunction(() => {
    const r = document.getElementById('sources').getBoundingClientRect();
    return r.left >= 0 && r.right <= window.innerWidth + 1;
  });
  await sleep(250);
  await shot(page, 'phone-sources');
  await page.keyboard.press('Escape');
  await page.waitForFunction(() => document.getElementById('sources').getBoundingClientRect().left >= window.innerWidth);
  await page.setViewport({ width: 1280, height: 860 });
});

// The server does not authenticate yet (issue 10): a stub in the browser answers 401 until the page
// sends the right bearer token, and 429 for the chat.
await step('401: the page asks for a key or token, keeps it for the tab, and sends it on every request', async () => {
  const seen = [];
  const handler = (r) => {
    const url = new URL(r.url());
    if (!url.pathname.startsWith('/api/')) return r.continue();
    const auth = r.headers().authorization || '';
    seen.push({ path: url.pathname, method: r.method(), auth });
    if (auth !== 'Bearer key-for-tests-42') {
      return r.respond({ status: 401, contentType: 'application/json', headers: { 'WWW-Authenticate': 'Bearer' },
        body: JSON.stringify({ error: { message: 'an API key or token is required', type: 'authentication_error', code: 'unauthorized' } }) });
    }
    return r.continue();
  };
  await page.setRequestInterception(true);
  page.on('request', handler);
  try {
    await page.evaluate(() => sessionStorage.clear());
    await page.reload({ waitUntil: 'domcontentloaded' });
    await page.waitForSelector('#signin-dialog[open]');
    check((await page.$eval('#signin-reason', (e) => e.textContent)).includes('an API key or token is required'), 'the reason is shown');
    await shot(page, 'desktop-signin');
    await page.type('#signin-credential', 'key-for-tests-42');
    await page.keyboard.press('Enter');
    await page.waitForFunction(() => document.querySelectorAll('#document-list .document').length === 3 &&
      document.querySelectorAll('#messages .message.assistant.done').length === 2, { timeout: 10000 });
    check(await page.evaluate(() => sessionStorage.getItem('pg_rag.credential')) === 'key-for-tests-42', 'kept in sessionStorage');
    check(await page.$eval('#sign-out', (e) => !e.hidden), 'Sign out shows');
    // An upload (XMLHttpRequest) and a question (fetch, streamed) carry the token too.
    seen.length = 0;
    await (await page.$('#file-input')).uploadFile(path.join(DATA, 'faq.json'));
    await page.waitForFunction(() => document.querySelector('#upload-list .upload.ok .upload-name')?.textContent === 'faq.json', { timeout: 20000 });
    await ask(page, 'How long do refunds take?');
    await lastAnswerDone(page);
    check((await lastAnswer(page)).className.includes('done'), 'answered with the token');
    const paths = seen.map((s) => `${s.method} ${s.path}`);
    check(paths.includes('POST /api/documents') && paths.includes('POST /api/chat'), paths.join(', '));
    check(seen.every((s) => s.auth === 'Bearer key-for-tests-42'), `without the token: ${JSON.stringify(seen.filter((s) => !s.auth))}`);
  } finally {
    page.off('request', handler);
    await page.setRequestInterception(false);
  }
  await page.click('#sign-out');
  check(await page.evaluate(() => sessionStorage.getItem('pg_rag.credential')) === null, 'signed out');
});

// Against a server that requires sign-in, with real API keys of two users: a wrong key is refused with the
// server's reason, alice's key signs in, her upload is hers, she gets a cited answer from it; bob signs
// in after her and sees neither her document nor anything of it in his answer.
await step('sign-in with real keys: a private upload is answered for its owner and invisible to another user', async () => {
  await waitHealthy(guarded);
  const privateFile = path.join(files, 'alice-notes.md');
  writeFileSync(privateFile, 'The zebracorn launch is on May 5 in hall nine.\n');
  await page.goto(guarded.url, { waitUntil: 'domcontentloaded' });
  await page.evaluate(() => sessionStorage.clear());
  await page.reload({ waitUntil: 'domcontentloaded' });
  await page.waitForSelector('#signin-dialog[open]');
  check((await page.$eval('#signin-reason', (e) => e.textContent)).includes('needs an API key or a token'), 'asked to sign in');
  await page.type('#signin-credential', 'prag_000000000000_' + '0'.repeat(64));
  await page.keyboard.press('Enter');
  await page.waitForFunction(() => document.getElementById('signin-dialog').open &&
    document.getElementById('signin-reason').textContent.includes('refused'), { timeout: 10000 });
  const refused = await page.$eval('#signin-reason', (e) => e.textContent);
  check(/unknown|invalid|not valid/i.test(refused), `the server's reason is shown: ${refused}`);
  await shot(page, 'desktop-signin-refused');
  await page.type('#signin-credential', keyOf('alice'));
  await page.keyboard.press('Enter');
  await page.waitForFunction(() => !document.getElementById('signin-dialog').open, { timeout: 10000 });
  await (await page.$('#file-input')).uploadFile(privateFile);
  await page.waitForFunction(() => document.querySelector('#upload-list .upload.ok .upload-name')?.textContent === 'alice-notes.md', { timeout: 20000 });
  await page.waitForFunction(() => [...document.querySelectorAll('#document-list .document')].some((d) => d.textContent.includes('alice-notes')), { timeout: 10000 });
  await ask(page, 'When is the zebracorn launch?');
  await lastAnswerDone(page);
  let a = await lastAnswer(page);
  check(/\bdone\b/.test(a.className) && a.text.includes('May 5'), `alice's answer: ${a.className}: ${a.text}`);
  const cited = await page.evaluate(() => [...document.querySelectorAll('#messages .message.assistant')].pop().querySelectorAll('.cite').length);
  check(cited > 0, 'the answer cites its source');
  await shot(page, 'desktop-signed-in-alice');
  // bob, in a fresh tab state: the list and the answer know nothing of alice's document.
  await page.click('#sign-out');
  await page.goto(guarded.url, { waitUntil: 'domcontentloaded' });
  await page.evaluate(() => sessionStorage.clear());
  await page.reload({ waitUntil: 'domcontentloaded' });
  await page.waitForSelector('#signin-dialog[open]');
  await page.type('#signin-credential', keyOf('bob'));
  await page.keyboard.press('Enter');
  await page.waitForFunction(() => !document.getElementById('signin-dialog').open, { timeout: 10000 });
  await page.waitForFunction(() => document.querySelectorAll('#document-list .document').length > 0, { timeout: 10000 });
  const bobsDocs = await page.$$eval('#document-list .document', (ds) => ds.map((d) => d.textContent).join(' | '));
  check(!bobsDocs.includes('alice-notes'), `bob's list: ${bobsDocs}`);
  await ask(page, 'When is the zebracorn launch?');
  await lastAnswerDone(page);
  a = await lastAnswer(page);
  check(!a.text.includes('May 5') && !a.text.includes('hall nine'), `bob's answer: ${a.text}`);
  const sources = await page.$$eval('#source-list li, #sources li', (ls) => ls.map((l) => l.textContent).join(' | '));
  check(!sources.includes('May 5') && !sources.includes('alice-notes'), `bob's sources: ${sources}`);
  await shot(page, 'desktop-signed-in-bob');
  await page.click('#sign-out');
  await page.goto(main.url, { waitUntil: 'networkidle0' });
});

await step('429 shows how long to wait, and the question comes back to send again', async () => {
  const handler = (r) => {
    if (new URL(r.url()).pathname === '/api/chat') {
      return r.respond({ status: 429, contentType: 'application/json', headers: { 'Retry-After': '7' },
        body: JSON.stringify({ error: { message: 'rate limit reached', type: 'rate_limit_error', code: 'rate_limited' } }) });
    }
    return r.continue();
  };
  await page.setRequestInterception(true);
  page.on('request', handler);
  try {
    await ask(page, 'Is this rate limited?');
    await lastAnswerDone(page);
    const a = await lastAnswer(page);
    check(/\bfailed\b/.test(a.className) && a.status === 'Too many requests. Try again in 7 s.', `${a.className}: ${a.status}`);
    check(await page.$eval('#question', (e) => e.value) === 'Is this rate limited?', 'the question is back in the box');
  } finally {
    page.off('request', handler);
    await page.setRequestInterception(false);
  }
  await page.$eval('#question', (e) => { e.value = ''; });
});

await step('a failing provider gets a clear message', async () => {
  await page.goto(down.url, { waitUntil: 'networkidle0' });
  await ask(page, 'How long do refunds take?');
  await lastAnswerDone(page);
  const a = await lastAnswer(page);
  check(/\bfailed\b/.test(a.className), a.className);
  check(/^The language model provider failed: .*ollama/i.test(a.status), a.status);
  await shot(page, 'desktop-provider-failed');
});

await step('a server that is down gets a clear message', async () => {
  await page.goto(doomed.url, { waitUntil: 'networkidle0' });
  doomed.child.kill('SIGTERM');
  await new Promise((r) => (doomed.child.exitCode !== null ? r() : doomed.child.once('exit', r)));
  await ask(page, 'Is anybody there?');
  await lastAnswerDone(page);
  const a = await lastAnswer(page);
  check(/\bfailed\b/.test(a.className) && /cannot be reached/.test(a.status), `${a.className}: ${a.status}`);
  await shot(page, 'desktop-server-down');
});

await step('the page never asked another host for anything', async () => {
  const origins = new Set(servers.map((s) => s.url));
  const foreign = requested.filter((u) => !origins.has(new URL(u).origin) && !/^(data|blob):/.test(u));
  check(foreign.length === 0, foreign.join('\n'));
  check(pageErrors.length === 0, pageErrors.join('\n'));
});

await browser.close();
stopServers();
console.log(`web tests: ${passed} passed, ${failed} failed`);
process.exit(failed === 0 ? 0 : 1);

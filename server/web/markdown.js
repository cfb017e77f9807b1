// A small Markdown renderer that builds DOM nodes and never parses HTML: whatever a document or a model
// wrote stays text (a "<script>" is shown, not run). Blocks: paragraphs, headings, lists (nested by
// indentation), block quotes, fenced code, tables, rules. Inline: code, strong, emphasis, strikethrough,
// links (http, https and mailto only), autolinks and [n] citations. Images become links: the page
// never loads anything from another host.
import { h } from './dom.js';

const FENCE = /^ {0,3}(`{3,}|~{3,})\s*([\w+#.-]*)/;
const HEADING = /^ {0,3}(#{1,6})(?:\s+(.*?))?\s*#*\s*$/;
const RULE = /^ {0,3}([-*_])(?:\s*\1){2,}\s*$/;
const QUOTE = /^ {0,3}>/;
const LIST_ITEM = /^( *)([-*+]|\d{1,9}[.)])(?: +(.*)|$)/;
const TABLE_SEPARATOR = /^ {0,3}\|?\s*:?-+:?\s*(\|\s*:?-+:?\s*)*\|?\s*$/;

const MAX_DEPTH = 12; // nesting beyond this (quotes in quotes, emphasis in emphasis...) stays text
const isBlank = (line) => line.trim() === '';
const indentOf = (line) => line.length - line.trimStart().length;

function isTableStart(line, next) {
  return line.includes('|') && next !== undefined && next.includes('|') && TABLE_SEPARATOR.test(next);
}

function startsBlock(line, next) {
  return FENCE.test(line) || HEADING.test(line) || RULE.test(line) || QUOTE.test(line) || LIST_ITEM.test(line) ||
    isTableStart(line, next);
}

// Renders text into a DocumentFragment. options.citation(n) returns the node for "[n]", or null to
// leave the text as it is (no such source).
export function renderMarkdown(text, options = {}) {
  const fragment = document.createDocumentFragment();
  blocks(String(text).replace(/\r\n?/g, '\n').split('\n'), fragment, options);
  return fragment;
}

function blocks(lines, out, options, depth = 0) {
  if (depth > MAX_DEPTH) {
    out.append(h('p', {}, lines.join('\n')));
    return;
  }
  let i = 0;
  while (i < lines.length) {
    const line = lines[i];
    let m;
    if (isBlank(line)) {
      i++;
    } else if ((m = FENCE.exec(line))) {
      const close = new RegExp(`^ {0,3}${m[1][0] === '`' ? '`' : '~'}{${m[1].length},}\\s*$`);
      const body = [];
      for (i++; i < lines.length && !close.test(lines[i]); i++) body.push(lines[i]);
      i++; // the closing fence (an answer still streaming may not have it yet)
      out.append(h('pre', {}, h('code', m[2] ? { class: `language-${m[2]}` } : {}, body.join('\n'))));
    } else if (RULE.test(line)) {
      out.append(h('hr'));
      i++;
    } else if ((m = HEADING.exec(line))) {
      const heading = h(`h${m[1].length + 2 > 6 ? 6 : m[1].length + 2}`);
      inline(heading, m[2] || '', options);
      out.append(heading);
      i++;
    } else if (QUOTE.test(line)) {
      const inner = [];
      while (i < lines.length && QUOTE.test(lines[i])) inner.push(lines[i++].replace(/^ {0,3}> ?/, ''));
      const quote = h('blockquote');
      blocks(inner, quote, options, depth + 1);
      out.append(quote);
    } else if (LIST_ITEM.test(line)) {
      i = list(lines, i, out, options, depth);
    } else if (isTableStart(line, lines[i + 1])) {
      i = table(lines, i, out, options);
    } else {
      const paragraph = [line.trim()];
      for (i++; i < lines.length && !isBlank(lines[i]) && !startsBlock(lines[i], lines[i + 1]); i++) {
        paragraph.push(lines[i].trim());
      }
      const p = h('p');
      inline(p, paragraph.join('\n'), options);
      out.append(p);
    }
  }
}

function list(lines, start, out, options, depth) {
  const first = LIST_ITEM.exec(lines[start]);
  const ordered = /\d/.test(first[2]);
  const base = first[1].length;
  const el = h(ordered ? 'ol' : 'ul');
  if (ordered && parseInt(first[2], 10) !== 1) el.setAttribute('start', String(parseInt(first[2], 10)));
  let i = start;
  while (i < lines.length) {
    const m = LIST_ITEM.exec(lines[i]);
    if (!m || m[1].length !== base || /\d/.test(m[2]) !== ordered) break;
    // Lines indented past the marker belong to the item (nested lists, more paragraphs).
    const nested = Math.min(base + m[2].length + 1, base + 2);
    const item = [m[3] || ''];
    for (i++; i < lines.length; i++) {
      const line = lines[i];
      if (isBlank(line)) {
        if (i + 1 < lines.length && !isBlank(lines[i + 1]) && indentOf(lines[i + 1]) >= nested) {
          item.push('');
          continue;
        }
        break;
      }
      if (indentOf(line) >= nested) item.push(line.slice(Math.min(indentOf(line), base + m[2].length + 1)));
      else if (LIST_ITEM.test(line) || startsBlock(line, lines[i + 1])) break;
      else item.push(line.trim()); // a lazy continuation line
    }
    const li = h('li');
    blocks(item, li, options, depth + 1);
    // A tight item's first paragraph is its text.
    if (li.firstChild && li.firstChild.nodeName === 'P') li.firstChild.replaceWith(...li.firstChild.childNodes);
    el.append(li);
    while (i + 1 < lines.length && isBlank(lines[i]) && LIST_ITEM.test(lines[i + 1]) &&
           indentOf(lines[i + 1]) === base) i++;
  }
  out.append(el);
  return i;
}

function cells(line) {
  let s = line.trim();
  if (s.startsWith('|')) s = s.slice(1);
  if (s.endsWith('|') && !s.endsWith('\\|')) s = s.slice(0, -1);
  return s.split(/(?<!\\)\|/).map((c) => c.trim().replace(/\\\|/g, '|'));
}

function table(lines, start, out, options) {
  const header = cells(lines[start]);
  const aligns = cells(lines[start + 1]).map((c) => {
    if (c.startsWith(':') && c.endsWith(':')) return 'align-center';
    if (c.endsWith(':')) return 'align-right';
    return c.startsWith(':') ? 'align-left' : undefined;
  });
  const row = (values, tag) => h('tr', {}, header.map((_, col) => {
    const cell = h(tag, { class: aligns[col], scope: tag === 'th' ? 'col' : undefined });
    inline(cell, values[col] || '', options);
    return cell;
  }));
  const body = h('tbody');
  let i = start + 2;
  for (; i < lines.length && !isBlank(lines[i]) && lines[i].includes('|'); i++) body.append(row(cells(lines[i]), 'td'));
  out.append(h('div', { class: 'table-scroll' }, h('table', {}, h('thead', {}, row(header, 'th')), body)));
  return i;
}

// An absolute http, https or mailto URL, or null: never javascript:, data: or a relative path.
export function safeUrl(text) {
  try {
    const url = new URL(text.trim());
    return ['http:', 'https:', 'mailto:'].includes(url.protocol) ? url.href : null;
  } catch {
    return null;
  }
}

function link(href, children) {
  return h('a', { href, target: '_blank', rel: 'noopener noreferrer nofollow' }, children);
}

// [label](url) starting at text[i] == '['; returns {label, url, end} or null.
function parseLink(text, i) {
  let depth = 0;
  let j = i;
  const limit = Math.min(text.length, i + 2000); // no label or address is longer
  for (; j < limit; j++) {
    if (text[j] === '\\') j++;
    else if (text[j] === '[') depth++;
    else if (text[j] === ']' && --depth === 0) break;
  }
  if (j >= limit || text[j + 1] !== '(') return null;
  let k = j + 2;
  let parens = 1;
  for (; k < limit + 2000 && k < text.length; k++) {
    if (text[k] === '(') parens++;
    else if (text[k] === ')' && --parens === 0) break;
    else if (text[k] === '\n') return null;
  }
  if (k >= text.length || text[k] !== ')') return null;
  const target = text.slice(j + 2, k).trim().replace(/\s+"[^"]*"$/, '').replace(/^<(.*)>$/, '$1');
  return { label: text.slice(i + 1, j), url: target, end: k + 1 };
}

const PUNCTUATION = /[!-/:-@[-`{-~]/;
const space = (c) => c === undefined || /\s/.test(c);
const punct = (c) => c !== undefined && PUNCTUATION.test(c);

// CommonMark's flanking rules, simplified: a run opens before text and closes after it, and '_' never
// opens or closes inside a word (snake_case, an onerror=__x attribute quoted in prose).
function canOpen(text, i, delim) {
  const before = text[i - 1];
  const after = text[i + delim.length];
  const left = !space(after) && (!punct(after) || space(before) || punct(before));
  return left && (delim[0] !== '_' || space(before) || punct(before));
}

function canClose(text, j, delim) {
  const before = text[j - 1];
  const after = text[j + delim.length];
  const right = !space(before) && (!punct(before) || space(after) || punct(after));
  return right && (delim[0] !== '_' || space(after) || punct(after));
}

// The index of the delimiter run closing one opened before `from`, or -1.
function closing(text, delim, from) {
  for (let j = text.indexOf(delim, from); j >= 0; j = text.indexOf(delim, j + 1)) {
    if (j === from) continue;
    if (delim.length === 1 && (text[j + 1] === delim || text[j - 1] === delim)) continue; // part of a longer run
    if (canClose(text, j, delim)) return j;
  }
  return -1;
}

const CITATION = /^\[(\d{1,3}(?:\s*,\s*\d{1,3})*)\]/;
const AUTOLINK = /^<((?:https?:\/\/|mailto:)[^\s<>]+)>/;
const BARE_URL = /^https?:\/\/[^\s<>"]*[^\s<>".,:;!?'")\]]/;

function inline(parent, text, options, depth = 0) {
  if (depth > MAX_DEPTH) {
    parent.append(document.createTextNode(text));
    return;
  }
  // Delimiters found without a closer from some position on have none from any later one either:
  // remembering that keeps a line of unmatched ** or ` linear instead of quadratic.
  const unclosed = new Map();
  const closes = (key, from, find) => {
    if (unclosed.has(key) && from >= unclosed.get(key)) return -1;
    const at = find();
    if (at < 0) unclosed.set(key, Math.min(from, unclosed.get(key) ?? Infinity));
    return at;
  };
  let buffer = '';
  const flush = () => {
    if (buffer) parent.append(document.createTextNode(buffer));
    buffer = '';
  };
  const emit = (node) => {
    flush();
    parent.append(node);
  };
  let i = 0;
  while (i < text.length) {
    const c = text[i];
    const rest = text.slice(i);
    let m;
    if (c === '\\' && PUNCTUATION.test(text[i + 1] || '')) {
      buffer += text[i + 1];
      i += 2;
    } else if (c === '\n') {
      emit(h('br'));
      i++;
    } else if (c === '`') {
      const run = /^`+/.exec(rest)[0];
      const end = closes(run, i + run.length, () => text.indexOf(run, i + run.length));
      if (end < 0) {
        buffer += run;
        i += run.length;
      } else {
        emit(h('code', {}, text.slice(i + run.length, end).replace(/^ (.+) $/s, '$1')));
        i = end + run.length;
      }
    } else if (c === '[' && options.citation && (m = CITATION.exec(rest)) && text[i + m[0].length] !== '(') {
      const nodes = m[1].split(',').map((n) => options.citation(Number(n.trim())));
      if (nodes.every(Boolean)) {
        nodes.forEach((node) => emit(node));
      } else {
        buffer += m[0];
      }
      i += m[0].length;
    } else if ((c === '[' || (c === '!' && text[i + 1] === '[')) && (m = parseLink(text, c === '!' ? i + 1 : i))) {
      const href = safeUrl(m.url);
      if (href) {
        const label = h('span');
        inline(label, m.label || m.url, options, depth + 1);
        emit(link(href, [...label.childNodes]));
      } else {
        buffer += m.label;
      }
      i = m.end;
    } else if (c === '<' && (m = AUTOLINK.exec(rest)) && safeUrl(m[1])) {
      emit(link(safeUrl(m[1]), m[1]));
      i += m[0].length;
    } else if (c === 'h' && (i === 0 || /[\s(]/.test(text[i - 1])) && (m = BARE_URL.exec(rest)) && safeUrl(m[0])) {
      emit(link(safeUrl(m[0]), m[0]));
      i += m[0].length;
    } else if ((c === '*' || c === '_' || c === '~') && (m = emphasis(text, i, closes))) {
      const el = h(m.tag);
      inline(el, text.slice(m.start, m.end), options, depth + 1);
      emit(el);
      i = m.end + m.delim.length;
    } else {
      buffer += c;
      i++;
    }
  }
  flush();
}

// **strong**, __strong__, *em*, _em_, ~~del~~ opening at text[i]: {tag, delim, start, end} or null.
function emphasis(text, i, closes) {
  const pair = text.slice(i, i + 2);
  const double = pair === '**' || pair === '__' || pair === '~~';
  if (!double && text[i] === '~') return null;
  const delim = double ? pair : text[i];
  if (!canOpen(text, i, delim)) return null;
  const start = i + delim.length;
  const end = closes(delim, start, () => closing(text, delim, start));
  if (end < 0) return null;
  return { tag: delim === '~~' ? 'del' : double ? 'strong' : 'em', delim, start, end };
}

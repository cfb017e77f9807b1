// The chat page of pg_rag_server: wires the conversation, the lists of conversations and documents,
// the settings and sign-in. The open conversation's id is in the address (#session=…), so a reload
// or a bookmark comes back to it.
import { Conversation } from './chat.js';
import { DocumentList } from './documents.js';
import { $ } from './dom.js';
import { closeDrawer, isOverlay, setUpDrawers } from './drawers.js';
import { SessionList } from './sessions.js';
import { setUpSettings } from './settings.js';
import { setUpSignOut } from './signin.js';

// Ids made here and not yet answered in: the server has no messages for them to ask for.
const unanswered = new Set();

function newSessionId() {
  const bytes = crypto.getRandomValues(new Uint8Array(12));
  const id = `chat-${[...bytes].map((b) => b.toString(16).padStart(2, '0')).join('')}`;
  unanswered.add(id);
  return id;
}

function sessionFromAddress() {
  const match = /^#session=([^&]{1,200})$/.exec(location.hash);
  return match ? decodeURIComponent(match[1]) : null;
}

function showSession(id) {
  if (sessionFromAddress() !== id) location.hash = `session=${encodeURIComponent(id)}`;
  else openFromAddress();
}

const conversation = new Conversation({
  onAnswered: () => {
    unanswered.delete(conversation.sessionId);
    sessions.refresh();
  },
});
const sessions = new SessionList({
  current: () => conversation.sessionId,
  onOpen: (id) => {
    if (isOverlay($('sidebar'))) closeDrawer('sidebar');
    showSession(id);
  },
  onDeleted: (id) => {
    if (id === conversation.sessionId) showSession(newSessionId());
  },
});
const documents = new DocumentList();

function openFromAddress() {
  let id = sessionFromAddress();
  if (!id) {
    id = newSessionId();
    history.replaceState(null, '', `#session=${encodeURIComponent(id)}`);
  }
  if (id !== conversation.sessionId) conversation.open(id, { fresh: unanswered.has(id) });
  sessions.markCurrent();
}

function setUpComposer() {
  const box = $('question');
  const send = () => {
    const question = box.value.trim();
    if (!question || conversation.busy) return;
    box.value = '';
    fit();
    conversation.ask(question);
  };
  // The box grows with its text, up to a third of the window (CSS caps it).
  const fit = () => {
    box.style.height = 'auto';
    box.style.height = `${box.scrollHeight}px`;
  };
  box.addEventListener('input', fit);
  box.addEventListener('keydown', (event) => {
    if (event.key === 'Enter' && !event.shiftKey && !event.isComposing) {
      event.preventDefault();
      send();
    }
  });
  $('composer').addEventListener('submit', (event) => {
    event.preventDefault();
    send();
  });
  $('stop').addEventListener('click', () => conversation.stop());
  $('new-chat').addEventListener('click', () => {
    if (isOverlay($('sidebar'))) closeDrawer('sidebar');
    showSession(newSessionId());
    box.focus();
  });
}

setUpDrawers();
setUpSettings();
setUpComposer();
setUpSignOut(() => {
  sessions.refresh();
  documents.refresh();
});
window.addEventListener('hashchange', openFromAddress);
openFromAddress();
sessions.refresh();
documents.refresh();
$('question').focus();

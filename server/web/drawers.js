// On narrow screens the sidebar and the sources panel slide over the conversation; on wide ones they
// are columns and these calls change nothing visible.
import { $ } from './dom.js';

const toggles = { sidebar: 'menu-toggle' };

export function openDrawer(id) {
  const drawer = $(id);
  drawer.classList.add('open');
  $('backdrop').hidden = !isOverlay(drawer);
  if (toggles[id]) $(toggles[id]).setAttribute('aria-expanded', 'true');
  if (isOverlay(drawer)) {
    const close = drawer.querySelector('.drawer-close');
    if (close) close.focus();
  }
}

export function closeDrawer(id) {
  $(id).classList.remove('open');
  if (toggles[id]) $(toggles[id]).setAttribute('aria-expanded', 'false');
  if (!document.querySelector('.drawer.open')) $('backdrop').hidden = true;
}

// True when the drawer covers the conversation (its column is not shown at this width).
export function isOverlay(drawer) {
  return getComputedStyle(drawer).position === 'fixed';
}

export function setUpDrawers() {
  $('menu-toggle').addEventListener('click', () => {
    if ($('sidebar').classList.contains('open')) closeDrawer('sidebar');
    else openDrawer('sidebar');
  });
  for (const button of document.querySelectorAll('[data-close]')) {
    button.addEventListener('click', () => closeDrawer(button.dataset.close));
  }
  $('backdrop').addEventListener('click', () => {
    closeDrawer('sidebar');
    closeDrawer('sources');
  });
  document.addEventListener('keydown', (event) => {
    if (event.key !== 'Escape' || document.querySelector('dialog[open]')) return;
    closeDrawer('sidebar');
    closeDrawer('sources');
  });
}

"""The page's CSS and the one piece of JavaScript (opening an article from a card)."""

# Gradio 6 takes page CSS in launch(), so ui.app.launch_app passes this along.
CSS = """
#byline-chat .bot-row .prose { opacity: 1; }  /* the panel layout greys replies by default */
/* A date picker's box keeps the width of 20 characters, wider than a third of the settings
   row, so its calendar button was cut off (and opening the calendar scrolled the label away);
   let the box shrink to its column instead. */
#byline-date-from .timebox input, #byline-date-to .timebox input, #byline-as-of .timebox input {
  min-width: 0; width: 100%;
}
.byline-reply { display: flex; flex-direction: column; gap: 10px; }
.byline-lead {
  margin: 0 0 2px 0; font-size: 1.05em; line-height: 1.45; color: var(--body-text-color);
}
.byline-marker { font-weight: 700; color: var(--color-accent, #2563eb); white-space: nowrap; }
.byline-why { color: var(--body-text-color-subdued); font-size: 0.88em; }
.byline-also { color: var(--body-text-color); opacity: 0.75; font-size: 0.92em; }
.byline-noanswer, .byline-error { border-left: 4px solid #d97706; padding-left: 8px; }
.byline-card {
  border: 1px solid var(--border-color-primary, #d4d4d8);
  border-left: 4px solid var(--color-accent, #2563eb);
  border-radius: 8px; padding: 8px 12px; background: var(--background-fill-primary);
}
.byline-card.byline-weak { border-left-color: #a1a1aa; opacity: 0.88; }
.byline-card-head { font-size: 1.0em; line-height: 1.35; }
.byline-weak-tag {
  margin-left: 8px; font-size: 0.78em; padding: 1px 6px; border-radius: 999px;
  background: #fef3c7; color: #92400e; white-space: nowrap;
}
.byline-meta { color: var(--body-text-color-subdued); font-size: 0.85em; margin: 2px 0 6px; }
.byline-text {
  margin: 0 !important; padding: 0 !important; border: none !important;
  font-size: 0.95em; line-height: 1.5;
}
.byline-reply mark, .byline-article mark { background: #fde68a; color: #1f2937; padding: 0 1px; }
.byline-card-foot {
  display: flex; justify-content: space-between; align-items: center; gap: 8px;
  margin-top: 6px; font-size: 0.82em; color: var(--body-text-color-subdued);
}
.byline-source { overflow-wrap: anywhere; }
button.byline-open {
  border: 1px solid var(--border-color-primary, #d4d4d8); border-radius: 6px;
  padding: 2px 8px; background: var(--button-secondary-background-fill, #f4f4f5);
  color: var(--body-text-color); cursor: pointer; white-space: nowrap; font-size: 0.95em;
}
button.byline-open:hover { border-color: var(--color-accent, #2563eb); }
.byline-article h3 { margin: 0 0 4px; }
.byline-article-text { white-space: pre-wrap; line-height: 1.55; font-size: 0.95em; }
.byline-article mark.byline-cited {
  background: #fde68a; outline: 2px solid #f59e0b; border-radius: 2px;
}
.byline-notice { color: var(--body-text-color-subdued); padding: 16px 4px; }
.byline-range, .byline-range-note {
  margin: 0; font-size: 0.88em; color: var(--body-text-color-subdued);
}
.byline-also-in { font-size: 0.85em; margin-top: 4px; }
.byline-also-in ul { margin: 4px 0 0 16px; padding: 0; }
.byline-also-in li { margin: 2px 0; }
.byline-also-in button.byline-copy { white-space: normal; text-align: left; margin-right: 6px; }
"""

# Runs once when the article panel mounts (gr.HTML js_on_load). A click on any card's
# "Open article" button becomes the panel's custom 'open' event, carrying the button's value
# ('article_id|start|end'); the listener sits on the document because cards live in the chat.
ARTICLE_PANEL_JS = """
window.__bylineOpen = (data) => trigger('open', data);
if (!window.__bylineClickBound) {
  window.__bylineClickBound = true;
  document.addEventListener('click', (event) => {
    const button = event.target.closest ? event.target.closest('button.byline-open') : null;
    if (!button) return;
    event.preventDefault();
    window.__bylineOpen({value: String(button.value || '')});
  }, true);
}
// The chat's own autoscroll jumps to the bottom of a long reply, past its opening line and
// first card; instead, scroll the chat box so that the newest reply starts at the top.
if (!window.__bylineScrollBound) {
  window.__bylineScrollBound = true;
  const scrollBox = (node) => {
    for (let el = node.parentElement; el; el = el.parentElement) {
      const overflow = getComputedStyle(el).overflowY;
      if ((overflow === 'auto' || overflow === 'scroll') && el.scrollHeight > el.clientHeight) {
        return el;
      }
    }
    return null;
  };
  new MutationObserver(() => {
    const replies = document.querySelectorAll(
      '#byline-chat .byline-reply, #byline-chat .byline-searching');
    const last = replies[replies.length - 1];
    if (!last || last === window.__bylineLastReply) return;
    window.__bylineLastReply = last;
    const row = last.closest('.message-row');
    const asked = row && row.previousElementSibling;
    // Show the question too when it sits right above the reply.
    const target = asked && asked.classList.contains('user-row') ? asked : (row || last);
    const box = scrollBox(target);
    if (!box) return;
    const gap = target.getBoundingClientRect().top - box.getBoundingClientRect().top;
    box.scrollTop += gap - 8;
  }).observe(document.body, {childList: true, subtree: true});
}
watch('value', () => {
  const mark = element.querySelector('#byline-cited');
  if (mark) mark.scrollIntoView({block: 'center'});
});
"""

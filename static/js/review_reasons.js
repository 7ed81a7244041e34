// The clerk's decision panel: a click on a common reason adds it to the comment (once), so that
// a rejection needs no typing for the usual cases. The comment stays editable.
document.addEventListener("DOMContentLoaded", () => {
  const comment = document.getElementById("id_comment");
  if (!comment) {
    return;
  }
  for (const button of document.querySelectorAll("button.review-reason[data-reason]")) {
    button.addEventListener("click", () => {
      const reason = button.dataset.reason;
      const current = comment.value.trim();
      if (!current.includes(reason)) {
        comment.value = current ? `${current}\n${reason}` : reason;
      }
      button.setAttribute("aria-pressed", "true");
      comment.focus();
    });
  }
});

// Post the one-time link back at once; a link preview (no scripts) never uses it up.
document.getElementById("signin").submit();

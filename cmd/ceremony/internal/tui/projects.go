package tui

// maxProjectLines is how many project changes the review lists, one a
// line, to scroll through: claimed may change 100,000 projects, which no
// one reads on a screen and which would slow every redraw; 'ceremony
// status --json' lists every one.
const maxProjectLines = 1000

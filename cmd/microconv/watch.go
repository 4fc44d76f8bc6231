package main

import (
	"context"
	"os"
	"path/filepath"
	"time"

	"github.com/fsnotify/fsnotify"
)

// watchRules reloads the rules when the rule file or directory changes. It
// watches the directory (of the file, or the directory itself): editors save
// by renaming a new file over the old one and Kubernetes swaps a ConfigMap's
// files with a symlink rename, both invisible to a watch on the file alone.
// Events are debounced; a reload that finds the same rules changes nothing.
func (a *app) watchRules(ctx context.Context) {
	dir := a.cfg.Rules
	if st, err := os.Stat(dir); err != nil || !st.IsDir() {
		dir = filepath.Dir(dir)
	}
	w, err := fsnotify.NewWatcher()
	if err != nil {
		a.log.Warn().Err(err).Msg("cannot watch the rules for changes; SIGHUP still reloads them")
		return
	}
	defer w.Close()
	if err := w.Add(dir); err != nil {
		a.log.Warn().Err(err).Str("dir", dir).Msg("cannot watch the rules for changes; SIGHUP still reloads them")
		return
	}
	a.log.Info().Str("dir", dir).Msg("watching the rules for changes")
	const debounce = 300 * time.Millisecond
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case ev, ok := <-w.Events:
			if !ok {
				return
			}
			if ev.Op == fsnotify.Chmod {
				continue
			}
			timer.Reset(debounce)
		case err, ok := <-w.Errors:
			if !ok {
				return
			}
			a.log.Warn().Err(err).Msg("rule watch error")
		case <-timer.C:
			a.reload("file")
		}
	}
}

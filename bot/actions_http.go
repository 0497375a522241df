package bot

// httpActions: not written yet.
func (e *Executor) httpActions() map[string]action {
	return map[string]action{}
}

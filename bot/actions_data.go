package bot

// dataActions: not written yet.
func (e *Executor) dataActions() map[string]action {
	return map[string]action{}
}

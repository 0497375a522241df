package bot

// interactionActions: not written yet.
func (e *Executor) interactionActions() map[string]action {
	return map[string]action{}
}

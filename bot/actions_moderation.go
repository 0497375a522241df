package bot

// moderationActions: not written yet.
func (e *Executor) moderationActions() map[string]action {
	return map[string]action{}
}

package bot

// scheduleActions: not written yet.
func (e *Executor) scheduleActions() map[string]action {
	return map[string]action{}
}

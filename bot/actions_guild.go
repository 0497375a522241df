package bot

// guildActions: not written yet.
func (e *Executor) guildActions() map[string]action {
	return map[string]action{}
}

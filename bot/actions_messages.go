package bot

// messageActions: the messages and reactions modules, and part B's
// message.reply.
func (e *Executor) messageActions() map[string]action {
	return map[string]action{
		"message.reply": e.reply,
	}
}

"""Every VACE control task from one render: controls, masks and edits drawn exactly from a
video's stored ground truth (`controls`), and the tasks that choose what to draw (`tasks`)."""

"""Centre editors keep their own listings: /<lang>/manage/."""

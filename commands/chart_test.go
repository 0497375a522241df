package commands

import (
	"bytes"
	"image/png"
	"testing"
	"time"

	"github.com/skyext/skybot/store"
)

// The chart is a real PNG of the chart's size with both series drawn.
func TestUsageChart(t *testing.T) {
	t.Parallel()
	days := make([]store.UsageCount, 30)
	days[10] = store.UsageCount{Runs: 40, Errors: 3}
	days[29] = store.UsageCount{Runs: 12, Errors: 9}
	data, err := usageChart("greeter: last 30 days", store.UsageDay(time.Date(2026, 12, 7, 0, 0, 0, 0, time.UTC)), days)
	if err != nil {
		t.Fatal(err)
	}
	img, err := png.Decode(bytes.NewReader(data))
	if err != nil {
		t.Fatalf("not a PNG: %v", err)
	}
	if b := img.Bounds(); b.Dx() < 400 || b.Dy() < 200 || b.Dx() > 1200 {
		t.Errorf("chart is %dx%d", b.Dx(), b.Dy())
	}
	var blue, red bool
	b := img.Bounds()
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			r, g, bl, _ := img.At(x, y).RGBA()
			r, g, bl = r>>8, g>>8, bl>>8
			blue = blue || (bl > 0xD0 && r < 0x80 && g < 0x80)
			red = red || (r > 0xD0 && g < 0x60 && bl < 0x60)
		}
	}
	if !blue || !red {
		t.Errorf("the runs line drawn: %t, the errors line drawn: %t", blue, red)
	}
	if !bytes.Equal(data[:8], []byte("\x89PNG\r\n\x1a\n")) {
		t.Error("no PNG signature")
	}
}

package commands

import (
	"bytes"
	"fmt"
	"image/color"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"

	"github.com/skyext/skybot/store"
)

// Chart size: small enough for an embed, wide enough for 30 days.
const (
	chartWidth  = 8 * vg.Inch
	chartHeight = 4 * vg.Inch
)

// usageChart draws runs and errors per day as a PNG: days[i] is unix day
// firstDay+i.
func usageChart(title string, firstDay int64, days []store.UsageCount) ([]byte, error) {
	p := plot.New()
	p.Title.Text = title
	p.X.Label.Text = "day (UTC)"
	p.Y.Label.Text = "per day"
	p.X.Tick.Marker = plot.TimeTicks{Format: "Jan 2"}
	p.Y.Min = 0
	p.Add(plotter.NewGrid())
	runs, errs := make(plotter.XYs, len(days)), make(plotter.XYs, len(days))
	top := 1.0
	for i, d := range days {
		x := float64((firstDay + int64(i)) * 86400) // unix seconds, for TimeTicks
		runs[i] = plotter.XY{X: x, Y: float64(d.Runs)}
		errs[i] = plotter.XY{X: x, Y: float64(d.Errors)}
		top = max(top, float64(d.Runs))
	}
	p.Y.Max = top * 1.1
	for _, s := range []struct {
		name string
		xys  plotter.XYs
		c    color.RGBA
	}{{"runs", runs, color.RGBA{R: 0x58, G: 0x65, B: 0xF2, A: 0xFF}}, {"errors", errs, color.RGBA{R: 0xED, G: 0x42, B: 0x45, A: 0xFF}}} {
		l, err := plotter.NewLine(s.xys)
		if err != nil {
			return nil, fmt.Errorf("chart %s: %w", s.name, err)
		}
		l.Color, l.Width = s.c, vg.Points(2)
		p.Add(l)
		p.Legend.Add(s.name, l)
	}
	p.Legend.Top = true
	w, err := p.WriterTo(chartWidth, chartHeight, "png")
	if err != nil {
		return nil, fmt.Errorf("chart: %w", err)
	}
	var b bytes.Buffer
	if _, err := w.WriteTo(&b); err != nil {
		return nil, fmt.Errorf("chart: %w", err)
	}
	return b.Bytes(), nil
}
